"""`dids sql`: run a query against ClickHouse and print the result."""

from __future__ import annotations

import csv
import json
import sys

import click

from dids.settings import Settings


@click.command("sql")
@click.argument("query")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "tsv", "json"]),
    default="table",
    show_default=True,
    help="Output format.",
)
@click.option("--analyst", is_flag=True, help="Use the read-only analyst account (DIDS_ANALYST_USER/PASSWORD).")
def command(query: str, fmt: str, analyst: bool) -> None:
    """Run QUERY in the DIDS database and print the rows.

    \b
    Examples:
      dids sql "SELECT count() FROM examinations FINAL"
      dids sql "SELECT provider_code, count() n FROM examinations FINAL GROUP BY 1 ORDER BY n DESC" --format csv
    """
    from sinks.clickhouse import DatabaseError, connect

    settings = Settings.from_env()
    client = (
        connect(settings, user=settings.analyst_user, password=settings.analyst_password)
        if analyst
        else connect(settings)
    )
    try:
        result = client.query(query)
    except DatabaseError as exc:
        raise click.ClickException(str(exc).strip().splitlines()[0]) from exc
    names, rows = list(result.column_names), result.result_rows
    if fmt == "json":
        for row in rows:
            click.echo(json.dumps(dict(zip(names, row, strict=True)), default=str))
    elif fmt in ("csv", "tsv"):
        writer = csv.writer(sys.stdout, delimiter="," if fmt == "csv" else "\t", lineterminator="\n")
        writer.writerow(names)
        writer.writerows(rows)
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(*names, caption=f"{len(rows)} row{'s' if len(rows) != 1 else ''}")
        for row in rows:
            table.add_row(*("NULL" if v is None else str(v) for v in row))
        Console().print(table)
