"""deploy/clickhouse/initdb/10-accounts.sh, run with a stand-in `clickhouse` that keeps the SQL it is fed:
the analyst role is granted exactly the views the embedded warehouse allows, and a hostile password
stays one string literal (the SQL is then parsed by the real ClickHouse parser)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import chdb

from deploy.warehouse.guard import ANALYST_TABLES

SCRIPT = Path(__file__).parents[3] / "deploy" / "clickhouse" / "initdb" / "10-accounts.sh"


def _run(tmp_path, analyst_password: str, grafana_password: str = "g-secret") -> str:
    fake = tmp_path / "bin" / "clickhouse"
    fake.parent.mkdir()
    fake.write_text(f"#!/bin/sh\ncat > {tmp_path / 'fed.sql'}\n")
    fake.chmod(0o755)
    env = dict(
        os.environ,
        PATH=f"{fake.parent}:{os.environ['PATH']}",
        CLICKHOUSE_DB="dids",
        CLICKHOUSE_PASSWORD="admin",
        DIDS_ANALYST_PASSWORD=analyst_password,
        DIDS_GRAFANA_CLICKHOUSE_PASSWORD=grafana_password,
    )
    subprocess.run(["bash", str(SCRIPT)], env=env, check=True)
    return (tmp_path / "fed.sql").read_text()


def test_the_analyst_role_gets_exactly_the_analyst_views(tmp_path):
    sql = _run(tmp_path, "a-secret")
    granted = set(re.findall(r"GRANT SELECT ON dids\.(\w+) TO dids_analyst_reader;", sql))
    assert granted == set(ANALYST_TABLES)
    assert "GRANT SELECT ON dids.* TO dids_operator_reader;" in sql


def test_a_hostile_password_stays_a_string(tmp_path):
    hostile = "x'; DROP USER analyst; --\\"
    sql = _run(tmp_path, hostile)
    statements = [s.strip() for s in sql.split(";\n") if s.strip()]
    create = next(s for s in statements if s.startswith("CREATE USER IF NOT EXISTS analyst"))
    tree = chdb.query("EXPLAIN AST " + create.rstrip(";"), "TSV").bytes().decode()
    assert tree.startswith("CreateUserQuery") or "CreateUser" in tree
    assert not any(s.startswith("DROP") for s in statements)


def test_the_linkage_role_reads_the_feed_only_and_the_operators_not_at_all(tmp_path):
    from deploy.warehouse.guard import LINKAGE_TABLES

    sql = _run(tmp_path, "a-secret")
    assert set(re.findall(r"GRANT SELECT ON dids\.(\w+) TO dids_linkage_reader;", sql)) == set(LINKAGE_TABLES)
    assert not LINKAGE_TABLES & set(ANALYST_TABLES) and "linkage_pseudonyms" not in ANALYST_TABLES
    for table in ("linkage_pseudonyms", "linkage_feed"):
        assert f"REVOKE SELECT ON dids.{table} FROM dids_operator_reader;" in sql
    assert "CREATE USER IF NOT EXISTS linkage" not in sql  # no password given: no account


def test_the_linkage_account_is_created_with_its_password(tmp_path, monkeypatch):
    monkeypatch.setenv("DIDS_LINKAGE_PASSWORD", "l'secret")
    sql = _run(tmp_path, "a-secret")
    assert "CREATE USER IF NOT EXISTS linkage IDENTIFIED WITH sha256_password BY 'l\\'secret'" in sql
    assert "GRANT dids_linkage_reader TO linkage;" in sql
