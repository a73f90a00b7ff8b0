#!/bin/bash
# The ClickHouse server's accounts for DIDS Stream, created on its first start (docker-compose.yml mounts
# this folder at /docker-entrypoint-initdb.d). `default` is the admin (CLICKHOUSE_PASSWORD, required);
# the analyst reads the analyst views only; grafana reads what the operator dashboards show. Both are
# read-only with locked limits (a client may lower them, never raise them). With DIDS_LINKAGE_PASSWORD set,
# the linkage account reads the cancer-registry feed (linkage_feed) and nothing else; the operators'
# role, which reads the rest, is refused the linkage tables.
set -euo pipefail

sql_string() { printf "'%s'" "$(printf %s "$1" | sed -e "s/\\\\/\\\\\\\\/g" -e "s/'/\\\\'/g")"; }

# the analyst views (sinks/warehouse/guard.py ANALYST_TABLES; tests/unit/deploy checks they agree)
ANALYST_VIEWS="analyst_examinations activity_daily activity_monthly dq_rejects_by_rule dq_warnings_by_rule
stats_activity_by_modality stats_provider_modality_month stats_waiting_times stats_early_cancer_gp_direct
pub_activity_by_modality pub_provider_modality_month pub_waiting_times pub_early_cancer_gp_direct disclosure_rules
snapshot_revisions snapshots utilisation_hourly pub_utilisation_hourly dissemination_audit"

{
  cat <<SQL
CREATE SETTINGS PROFILE IF NOT EXISTS dids_reader SETTINGS
    readonly = 2,
    max_execution_time = 60 MAX 60,
    max_memory_usage = 2147483648 MAX 2147483648,
    max_result_rows = 10000000 MAX 10000000,
    max_result_bytes = 1073741824 MAX 1073741824,
    result_overflow_mode = 'throw' CONST,
    max_parser_depth = 300 MAX 300;
CREATE ROLE IF NOT EXISTS dids_analyst_reader;
CREATE ROLE IF NOT EXISTS dids_operator_reader;
GRANT SELECT ON ${CLICKHOUSE_DB}.* TO dids_operator_reader;
CREATE USER IF NOT EXISTS analyst IDENTIFIED WITH sha256_password BY $(sql_string "$DIDS_ANALYST_PASSWORD")
    SETTINGS PROFILE dids_reader DEFAULT ROLE dids_analyst_reader;
GRANT dids_analyst_reader TO analyst;
CREATE USER IF NOT EXISTS grafana IDENTIFIED WITH sha256_password BY $(sql_string "$DIDS_GRAFANA_CLICKHOUSE_PASSWORD")
    SETTINGS PROFILE dids_reader DEFAULT ROLE dids_operator_reader;
GRANT dids_operator_reader TO grafana;
REVOKE SELECT ON ${CLICKHOUSE_DB}.linkage_pseudonyms FROM dids_operator_reader;
REVOKE SELECT ON ${CLICKHOUSE_DB}.linkage_feed FROM dids_operator_reader;
CREATE ROLE IF NOT EXISTS dids_linkage_reader;
GRANT SELECT ON ${CLICKHOUSE_DB}.linkage_feed TO dids_linkage_reader;
SQL
  if [ -n "${DIDS_LINKAGE_PASSWORD:-}" ]; then
    cat <<SQL
CREATE USER IF NOT EXISTS linkage IDENTIFIED WITH sha256_password BY $(sql_string "$DIDS_LINKAGE_PASSWORD")
    SETTINGS PROFILE dids_reader DEFAULT ROLE dids_linkage_reader;
GRANT dids_linkage_reader TO linkage;
SQL
  fi
  for view in $ANALYST_VIEWS; do
    echo "GRANT SELECT ON ${CLICKHOUSE_DB}.${view} TO dids_analyst_reader;"
  done
} | clickhouse client --user default --password "$CLICKHOUSE_PASSWORD" --multiquery
