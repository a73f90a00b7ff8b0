"""Grafana dashboards and provisioning (deploy/grafana): checked without Grafana.

A dashboard that names a metric nobody exports, or a table no migration creates, shows "No data" and
looks like a quiet pipeline. So every Prometheus expression may use only series that `exported_metrics()`
lists (or Prometheus's own `up`), and every ClickHouse query only tables and views the migrations create.
tests/integration/test_dashboard_queries.py then runs the ClickHouse queries on the real engine.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.unit.deploy.exported import exported_metrics

ROOT = Path(__file__).parents[3]
GRAFANA = ROOT / "deploy" / "grafana"
DASHBOARD_DIR = GRAFANA / "dashboards"
DATASOURCES_YML = GRAFANA / "provisioning" / "datasources" / "datasources.yml"
DASHBOARDS_YML = GRAFANA / "provisioning" / "dashboards" / "dashboards.yml"
MIGRATIONS = ROOT / "sinks" / "migrations"
# where docker-compose mounts the two directories inside the Grafana container
CONTAINER_PROVISIONING = "/etc/grafana/provisioning"
CONTAINER_DASHBOARDS = "/var/lib/grafana/dashboards"

DASHBOARD_FILES = ("pipeline-health.json", "data-quality.json", "activity.json")
DASHBOARDS: dict[str, dict] = {name: json.loads((DASHBOARD_DIR / name).read_text()) for name in DASHBOARD_FILES}
DATASOURCES: dict[str, str] = {
    ds["uid"]: ds["type"] for ds in yaml.safe_load(DATASOURCES_YML.read_text())["datasources"]
}
PROMETHEUS, CLICKHOUSE = "prometheus", "grafana-clickhouse-datasource"
# Grafana's own variables and the ClickHouse plugin's macros: everything else starting with $ must be a
# template variable the dashboard defines
GRAFANA_BUILTINS = {"__rate_interval", "__interval", "__interval_ms", "__range", "__range_s"}
CLICKHOUSE_MACROS = {"__timeFilter", "__dateFilter", "__fromTime", "__toTime", "__conditionalAll"}


# ---------------------------------------------------------------------------------------------- reading
def panels(dashboard: dict) -> Iterator[dict]:
    """Every panel that queries something: rows are layout only (a collapsed row carries its panels)."""
    for panel in dashboard.get("panels", []):
        if panel.get("type") == "row":
            yield from panel.get("panels", [])
        else:
            yield panel


def targets(datasource_type: str) -> Iterator[tuple[str, str, dict]]:
    """(dashboard file, panel title, target) for every panel target of the given datasource type."""
    for name, dashboard in DASHBOARDS.items():
        for panel in panels(dashboard):
            for target in panel.get("targets", []):
                if DATASOURCES.get(target.get("datasource", {}).get("uid")) == datasource_type:
                    yield name, panel["title"], target


def clickhouse_queries() -> Iterator[tuple[str, str, str]]:
    """(dashboard file, what, SQL) for every ClickHouse query: panel targets and template variables."""
    for name, title, target in targets(CLICKHOUSE):
        yield name, f"{title} [{target['refId']}]", target["rawSql"]
    for name, dashboard in DASHBOARDS.items():
        for var in dashboard["templating"]["list"]:
            if var.get("type") == "query" and DATASOURCES.get(var["datasource"]["uid"]) == CLICKHOUSE:
                yield name, f"variable ${var['name']}", var["query"]


# ------------------------------------------------------------------------------------------- extractors
_QUOTED = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`')
_LABEL_LIST = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", re.I)
_NUMBER = re.compile(r"(?<![\w:])\d[\w.+-]*")  # 0.99, 1e3, and durations after offset (5m)
_FUNCTION_CALL = re.compile(r"\b[a-zA-Z_]\w*\s*\(")
# binary operators, modifiers and the special float literals: never metric names
_PROMQL_KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left"}
_PROMQL_KEYWORDS |= {"group_right", "inf", "nan"}


def promql_metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects: what is left once strings, label matchers, label
    lists, ranges, numbers, Grafana variables, function calls and keywords are taken out."""
    s = _QUOTED.sub(" ", expr)
    s = re.sub(r"\{[^}]*\}", " ", s)  # label matchers, now free of quoted braces
    s = re.sub(r"\[[^\]]*\]", " ", s)  # [5m], [$__rate_interval], subqueries [1h:5m]
    s = _LABEL_LIST.sub(" ", s)
    s = re.sub(r"\$\w+", " ", s)  # a Grafana variable outside a range
    s = _NUMBER.sub(" ", s)
    s = _FUNCTION_CALL.sub(" ", s)  # sum(, rate(, histogram_quantile( ...: a metric is never called
    names = set(re.findall(r"[a-zA-Z_:][\w:]*", s))
    return {n for n in names if n.lower() not in _PROMQL_KEYWORDS}


_SQL_STRING = re.compile(r"'(?:\\.|''|[^'\\])*'")
_SQL_COMMENT = re.compile(r"--[^\n]*|/\*.*?\*/", re.S)


def sql_relations(sql: str) -> set[str]:
    """Every `FROM name` / `JOIN name` in a query, as written (with its database prefix)."""
    s = _SQL_COMMENT.sub(" ", _SQL_STRING.sub("''", sql))
    return set(re.findall(r"\b(?:FROM|JOIN)\s+([A-Za-z_][\w.]*)", s, re.I))


def migration_relations() -> set[str]:
    """The tables and views the migrations create, without the database (`{db}.name`)."""
    created = set()
    for path in sorted(MIGRATIONS.glob("*.sql")):
        created |= set(
            re.findall(
                r"CREATE\s+(?:TABLE|(?:MATERIALIZED\s+)?VIEW)\s+IF\s+NOT\s+EXISTS\s+\{db\}\.(\w+)",
                path.read_text(),
                re.I,
            )
        )
    return created


def template_variables_used(text: str) -> set[str]:
    """$name and ${name} / ${name:format} references, minus Grafana built-ins and plugin macros."""
    names = set(re.findall(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)", text))
    return {a or b for a, b in names} - GRAFANA_BUILTINS - CLICKHOUSE_MACROS


# ------------------------------------------------------------------------------- the extractors themselves
def test_promql_extractor_finds_only_the_metric_names():
    expr = (
        'histogram_quantile(0.99, sum by (le, job) (rate(dids_sink_insert_seconds_bucket{job="a{b}", le!="+Inf"}'
        "[$__rate_interval]))) / on (job) group_left max without (instance) (up offset 5m) * 1e3"
        " and time() - dids_sink_last_insert_timestamp_seconds > bool 0"
    )
    assert promql_metric_names(expr) == {
        "dids_sink_insert_seconds_bucket",
        "up",
        "dids_sink_last_insert_timestamp_seconds",
    }


def test_promql_check_catches_a_misspelt_metric():
    # the check below must be able to fail: a typo in a dashboard is exactly what it is for
    assert promql_metric_names("sum(rate(dids_sink_rowz_total[5m]))") - set(exported_metrics()) == {
        "dids_sink_rowz_total"
    }


def test_sql_extractor_finds_from_and_join_targets():
    sql = """
        SELECT p, count() FROM dids.activity_daily AS d  -- FROM nowhere
        LEFT JOIN dids.rejects r ON r.x = d.x
        WHERE d.p IN (SELECT p FROM (SELECT p FROM submissions FINAL)) AND d.q != 'FROM bogus'
    """
    assert sql_relations(sql) == {"dids.activity_daily", "dids.rejects", "submissions"}


def test_migrations_create_the_objects_the_dashboards_are_about():
    assert {
        "examinations",
        "rejects",
        "submissions",
        "activity_daily",
        "activity_monthly",
        "dq_rejects_by_rule",
        "dq_warnings_by_rule",
        "stats_waiting_times",
    } <= migration_relations()


# ---------------------------------------------------------------------------------------- the dashboards
def test_dashboards_have_unique_uids_and_titles():
    uids = [d["uid"] for d in DASHBOARDS.values()]
    titles = [d["title"] for d in DASHBOARDS.values()]
    assert all(uids) and all(titles)
    assert len(set(uids)) == len(uids), uids
    assert len(set(titles)) == len(titles), titles
    # no stray JSON that the provider would load without these tests looking at it
    assert sorted(p.name for p in DASHBOARD_DIR.glob("*.json")) == sorted(DASHBOARD_FILES)


@pytest.mark.parametrize("name", DASHBOARD_FILES)
def test_every_panel_queries_a_provisioned_datasource(name):
    for panel in panels(DASHBOARDS[name]):
        where = f"{name}: {panel['title']!r}"
        uid = panel["datasource"]["uid"]
        assert DATASOURCES.get(uid) == panel["datasource"]["type"], f"{where}: datasource {panel['datasource']}"
        assert panel["targets"], f"{where} has no query"
        for target in panel["targets"]:
            ds = target["datasource"]
            assert DATASOURCES.get(ds["uid"]) == ds["type"], f"{where}: target datasource {ds}"
            assert ds["uid"] == uid, f"{where}: target {target['refId']} and panel use different datasources"


@pytest.mark.parametrize("name", DASHBOARD_FILES)
def test_panel_ids_and_titles_are_unique_within_a_dashboard(name):
    every = DASHBOARDS[name]["panels"]
    ids = [p["id"] for p in every]
    titles = [p["title"] for p in panels(DASHBOARDS[name])]
    assert len(set(ids)) == len(ids)
    assert len(set(titles)) == len(titles)  # the integration test finds panels by title


def test_prometheus_queries_use_only_exported_metrics():
    known = set(exported_metrics()) | {"up"}
    unknown = {
        f"{name}: {title!r}: {sorted(promql_metric_names(t['expr']) - known)}"
        for name, title, t in targets(PROMETHEUS)
        if promql_metric_names(t["expr"]) - known
    }
    assert not unknown, unknown
    assert all(promql_metric_names(t["expr"]) for _, _, t in targets(PROMETHEUS)), "an expression selects nothing"


def test_clickhouse_queries_read_only_migrated_tables_and_views():
    created = migration_relations()
    for name, what, sql in clickhouse_queries():
        relations = sql_relations(sql)
        assert relations, f"{name}: {what} reads no table"
        for relation in relations:
            # always qualified: the integration test points `dids.` at its own database
            assert relation.startswith("dids."), f"{name}: {what}: {relation} without the dids. prefix"
            assert relation.removeprefix("dids.") in created, f"{name}: {what}: no migration creates {relation}"


@pytest.mark.parametrize("name", DASHBOARD_FILES)
def test_queries_use_only_variables_the_dashboard_defines(name):
    dashboard = DASHBOARDS[name]
    defined = {v["name"] for v in dashboard["templating"]["list"]}
    for var in dashboard["templating"]["list"]:
        if "datasource" in var:
            assert DATASOURCES.get(var["datasource"]["uid"]) == var["datasource"]["type"], var["name"]
    for panel in panels(dashboard):
        for target in panel["targets"]:
            used = template_variables_used(target.get("expr") or target.get("rawSql", ""))
            assert used <= defined, f"{name}: {panel['title']!r} uses undefined {used - defined}"


def test_clickhouse_macros_are_ones_the_plugin_expands():
    for name, what, sql in clickhouse_queries():
        macros = set(re.findall(r"\$(__\w+)", sql))
        assert macros <= CLICKHOUSE_MACROS, f"{name}: {what}: {macros - CLICKHOUSE_MACROS}"


# -------------------------------------------------------------------------------------------- provisioning
def test_datasources_provisioning():
    config = yaml.safe_load(DATASOURCES_YML.read_text())
    assert config["apiVersion"] == 1
    by_uid = {ds["uid"]: ds for ds in config["datasources"]}
    assert set(by_uid) == {"prometheus", "clickhouse"}
    assert by_uid["prometheus"]["type"] == PROMETHEUS
    assert by_uid["prometheus"]["url"] == "http://prometheus:9090"
    clickhouse = by_uid["clickhouse"]
    assert clickhouse["type"] == CLICKHOUSE
    for key, value in {"host": "clickhouse", "port": 8123, "protocol": "http", "defaultDatabase": "dids"}.items():
        assert clickhouse["jsonData"][key] == value, key
    # credentials from the container's environment, never written into the repository
    assert clickhouse["jsonData"]["username"] == "${DIDS_GRAFANA_CLICKHOUSE_USER}"
    assert clickhouse["secureJsonData"] == {"password": "${DIDS_GRAFANA_CLICKHOUSE_PASSWORD}"}
    assert sum(bool(ds.get("isDefault")) for ds in config["datasources"]) <= 1


def test_dashboards_provisioning_points_at_the_mounted_dashboards():
    config = yaml.safe_load(DASHBOARDS_YML.read_text())
    assert config["apiVersion"] == 1
    (provider,) = config["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == CONTAINER_DASHBOARDS


def test_compose_mounts_the_grafana_directories():
    # the Grafana service must mount what provisioning expects
    grafana = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"].get("grafana")
    assert grafana is not None, "docker-compose.yml has no grafana service"
    volumes = {}  # container path -> host path, from the short (src:dst:ro) or the long syntax
    for v in grafana.get("volumes", []):
        source, target = v.split(":")[:2] if isinstance(v, str) else (v.get("source"), v.get("target"))
        volumes[target] = source
    assert volumes.get(CONTAINER_PROVISIONING) == "./deploy/grafana/provisioning"
    assert volumes.get(CONTAINER_DASHBOARDS) == "./deploy/grafana/dashboards"
