"""The ClickHouse cluster variant of the migrations: the same statements, run ``ON CLUSTER`` with
Replicated engines, generated rather than kept as a second copy that could drift.

Every replica gets each table and view (``ON CLUSTER``); MergeTree-family tables become their
``Replicated*`` twin keyed by the server macros ``{shard}`` and ``{replica}``, so the inserts and
partition swaps of one replica reach the others. One shard is assumed: analysts query the tables
directly (spreading rows over shards would add Distributed tables on top).
"""

from __future__ import annotations

import re

from dids.kernel.errors import ConfigError

ZK_PATH = "'/clickhouse/tables/{shard}/{database}/{table}'"
REPLICA = "'{replica}'"
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# statement heads that take ON CLUSTER right after the object's name
_HEAD = re.compile(
    r"^(?P<head>\s*(?:CREATE\s+(?:OR\s+REPLACE\s+)?(?:TABLE|VIEW|MATERIALIZED\s+VIEW|DATABASE)"
    r"(?:\s+IF\s+NOT\s+EXISTS)?|ALTER\s+TABLE|DROP\s+(?:TABLE|VIEW|DATABASE)(?:\s+IF\s+EXISTS)?)"
    r"\s+(?P<name>[\w.`{}]+))",
    re.IGNORECASE,
)
_ENGINE = re.compile(
    r"ENGINE\s*=\s*(?P<engine>(?:Replacing|Summing|Aggregating|Collapsing|VersionedCollapsing)?MergeTree)"
    r"(?:\s*\((?P<args>[^)]*)\))?",
)


def check_cluster(name: str) -> str:
    if not _IDENT.match(name):
        raise ConfigError(f"DIDS_CLICKHOUSE_CLUSTER={name!r} is not a plain cluster name (see system.clusters)")
    return name


def on_cluster(statement: str, cluster: str) -> str:
    """``statement`` as it runs on every replica of ``cluster``; statements without a head pass unchanged."""
    check_cluster(cluster)
    out = _HEAD.sub(lambda m: f"{m['head']} ON CLUSTER {cluster}", statement, count=1)
    return _ENGINE.sub(_replicated, out, count=1)


def _replicated(m: re.Match) -> str:
    args = (m["args"] or "").strip()
    params = ", ".join([ZK_PATH, REPLICA, *([args] if args else [])])
    return f"ENGINE = Replicated{m['engine']}({params})"
