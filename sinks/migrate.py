"""Versioned, idempotent DDL: ``sinks/migrations/NNNN_name.sql`` applied in order, recorded in
``<db>.schema_migrations``. The same files run on the embedded warehouse and on a server.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from dids.kernel.errors import DidsError
from dids.kernel.settings import Settings
from sinks.clickhouse import DatabaseError, connect, server_client
from sinks.cluster import on_cluster
from sinks.disclosure import DisclosureRules, record_rules

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ADD_COLUMN = re.compile(r"^ALTER TABLE (?P<table>[\w.]+) (?P<action>ADD COLUMN\b.*)\Z", re.S)


class MigrationError(DidsError):
    """A migration failed or the recorded history disagrees with the files."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()[:16]

    def statements(self, database: str) -> list[str]:
        """The file's statements, except that a run of ``ALTER TABLE t ADD COLUMN ...`` on one table is one
        ALTER with many actions: each ALTER rewrites the table's metadata, ~40 ms apiece."""
        body = "\n".join(line for line in self.sql.splitlines() if not line.lstrip().startswith("--"))
        out: list[str] = []
        for statement in (s.strip().replace("{db}", database) for s in body.split(";") if s.strip()):
            adding = _ADD_COLUMN.match(statement)
            before = _ADD_COLUMN.match(out[-1]) if out else None
            if adding and before and adding["table"] == before["table"]:
                out[-1] += f",\n    {adding['action']}"
            else:
                out.append(statement)
        return out


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    out = []
    for path in sorted(directory.glob("*.sql")):
        m = _NAME.match(path.name)
        if not m:
            raise MigrationError(f"{path.name}: migration files are named NNNN_name.sql")
        out.append(Migration(int(m[1]), m[2], path.read_text()))
    return out


def setup_statements(database: str) -> list[str]:
    """The database and the migrations table, before any migration."""
    return [
        f"CREATE DATABASE IF NOT EXISTS {database}",
        f"CREATE TABLE IF NOT EXISTS {database}.schema_migrations (version UInt32, name String, checksum String, "
        "applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) ENGINE = MergeTree ORDER BY version",
    ]


def ddl(database: str, cluster: str = "") -> list[str]:
    """Every statement ``migrate`` would run on an empty server, as it would run them (cluster variant too)."""
    statements = setup_statements(database) + [s for m in load_migrations() for s in m.statements(database)]
    return [on_cluster(s, cluster) for s in statements] if cluster else statements


def migrate(settings: Settings) -> list[str]:
    """Create the database, apply pending migrations and record the disclosure rules in force
    (``DIDS_DISCLOSURE_*``, checked before anything runs). Returns the names applied."""
    db = settings.clickhouse_database
    if not _IDENT.match(db):
        raise MigrationError(f"DIDS_CLICKHOUSE_DATABASE={db!r} is not a plain identifier")
    rules = DisclosureRules.from_settings(settings)
    cluster = settings.clickhouse_cluster

    def variant(statement: str) -> str:
        return on_cluster(statement, cluster) if cluster else statement

    create_db, create_history = setup_statements(db)
    server_client(settings).command(variant(create_db))
    client = connect(settings)
    client.command(variant(create_history))
    done = {
        row[0]: (row[1], row[2])
        for row in client.query(f"SELECT version, name, checksum FROM {db}.schema_migrations").result_rows
    }
    applied = []
    for mig in load_migrations():
        if mig.version in done:
            if done[mig.version][1] != mig.checksum:
                log.warning(
                    "migration %04d_%s changed since it was applied (checksum %s, now %s); not re-run",
                    mig.version,
                    mig.name,
                    done[mig.version][1],
                    mig.checksum,
                )
            continue
        for stmt in mig.statements(db):
            try:
                client.command(variant(stmt))
            except DatabaseError as exc:
                raise MigrationError(f"migration {mig.version:04d}_{mig.name} failed: {exc}") from exc
        client.insert(
            f"{db}.schema_migrations",
            [[mig.version, mig.name, mig.checksum]],
            column_names=["version", "name", "checksum"],
        )
        applied.append(f"{mig.version:04d}_{mig.name}")
        log.info("applied migration %04d_%s", mig.version, mig.name)
    if record_rules(client, db, rules):
        log.info("disclosure rules recorded: %s", rules.describe())
    return applied
