"""The cluster variant of the migrations (sinks/cluster.py), statement by statement."""

from __future__ import annotations

import re

import pytest

from dids.kernel.errors import ConfigError
from sinks.cluster import on_cluster
from sinks.migrate import ddl


def test_every_statement_runs_on_the_cluster():
    plain, clustered = ddl("dids"), ddl("dids", "dids_cluster")
    assert len(plain) == len(clustered)
    for statement in clustered:
        assert re.search(r"^\s*(CREATE|ALTER)\b.*? ON CLUSTER dids_cluster\b", statement, re.S), statement[:120]


def test_every_mergetree_table_is_replicated_with_its_parameters_kept():
    engines = [m for s in ddl("dids", "dids_cluster") for m in re.findall(r"ENGINE = (\w+)\(([^)]*)\)", s)]
    assert engines, "no table engine found"
    for engine, params in engines:
        assert engine.startswith("Replicated"), engine
        assert params.startswith("'/clickhouse/tables/{shard}/{database}/{table}', '{replica}'")
    # ReplacingMergeTree(version) keeps its version column after the replication parameters
    examinations = next(s for s in ddl("dids", "c") if "TABLE IF NOT EXISTS dids.examinations " in s)
    assert "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', version)" in (
        examinations
    )


def test_engine_without_parentheses_gets_them():
    out = on_cluster("CREATE TABLE d.t (a Int8) ENGINE = MergeTree ORDER BY a", "c")
    assert out == (
        "CREATE TABLE d.t ON CLUSTER c (a Int8) ENGINE = ReplicatedMergeTree("
        "'/clickhouse/tables/{shard}/{database}/{table}', '{replica}') ORDER BY a"
    )


def test_views_have_no_engine_to_replace():
    out = on_cluster("CREATE VIEW IF NOT EXISTS d.v AS SELECT 1", "c")
    assert out == "CREATE VIEW IF NOT EXISTS d.v ON CLUSTER c AS SELECT 1"


def test_cluster_names_are_plain_identifiers():
    with pytest.raises(ConfigError, match="system.clusters"):
        on_cluster("CREATE TABLE d.t (a Int8) ENGINE = MergeTree ORDER BY a", "c; DROP TABLE x")
