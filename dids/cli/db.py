"""`dids db`: database administration (migrations)."""

from __future__ import annotations

import click

from dids.kernel.settings import Settings


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


@command.command("ddl")
@click.option(
    "--cluster",
    default=None,
    help="Print the cluster variant: ON CLUSTER NAME, Replicated engines [DIDS_CLICKHOUSE_CLUSTER].",
)
def ddl_command(cluster: str | None) -> None:
    """Print every statement `dids db migrate` runs on an empty server, in order.

    For review by a database administrator, or to apply by hand. With a cluster name the
    statements run ON CLUSTER and MergeTree tables become ReplicatedMergeTree (macros {shard} and
    {replica} must be defined on the servers); `dids db migrate` does the same when
    DIDS_CLICKHOUSE_CLUSTER is set.

    \b
    Example:
      dids db ddl --cluster dids > schema.sql
    """
    from sinks.migrate import ddl

    settings = Settings.from_env()
    for statement in ddl(settings.clickhouse_database, cluster or settings.clickhouse_cluster):
        click.echo(statement.rstrip() + ";\n")
