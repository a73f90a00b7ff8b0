"""`dids db`: database administration (migrations)."""

from __future__ import annotations

import click

from dids.settings import Settings


@click.group("db")
def command() -> None:
    """ClickHouse schema management."""


@command.command("migrate")
def migrate_command() -> None:
    """Create the database and apply pending migrations (idempotent).

    \b
    Example:
      DIDS_CLICKHOUSE_URL=http://127.0.0.1:8123 dids db migrate
    """
    from sinks.migrate import migrate

    applied = migrate(Settings.from_env())
    click.echo("applied: " + ", ".join(applied) if applied else "database is up to date")
