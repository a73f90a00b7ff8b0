"""`dids sql`: run a query against ClickHouse and print the result (or write it to a file)."""

from __future__ import annotations

import contextlib
import csv
import json
import sys
from pathlib import Path

import click

from dids.kernel.settings import Settings
from dids.kernel.terminal import spreadsheet_safe, visible


@click.command("sql")
@click.argument("query")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "tsv", "json", "parquet"]),
    default="table",
    show_default=True,
    help="Output format (parquet: ClickHouse's own Parquet writer; needs --out).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the result to FILE instead of standard output (replaced if it exists).",
)
@click.option("--analyst", is_flag=True, help="Use the read-only analyst account (DIDS_ANALYST_USER/PASSWORD).")
def command(query: str, fmt: str, out: Path | None, analyst: bool) -> None:
    """Run QUERY in the DIDS database and print the rows.

    \b
    Examples:
      dids sql "SELECT count() FROM current_examinations"
      dids sql "SELECT provider_code, count() n FROM current_examinations GROUP BY 1 ORDER BY n DESC" --format csv
      dids sql "SELECT * FROM current_examinations" --format parquet --out current.parquet
    """
    from sinks.clickhouse import DatabaseError, connect

    if fmt == "parquet" and out is None:
        raise click.UsageError("--format parquet writes binary data: give --out FILE")
    settings = Settings.from_env()
    client = (
        connect(settings, user=settings.analyst_user, password=settings.analyst_password)
        if analyst
        else connect(settings)
    )
    try:
        if fmt == "parquet":
            data = client.raw_query(query, fmt="Parquet")
        else:
            result = client.query(query)
    except DatabaseError as exc:
        raise click.ClickException(visible(str(exc).strip().splitlines()[0])) from exc
    if fmt == "parquet":
        _write_bytes(out, data)
        click.echo(f"wrote {out} ({len(data):,} bytes)", err=True)
        return
    names, rows = list(result.column_names), result.result_rows
    with _output(out) as stream:
        _print(stream, fmt, names, rows, to_file=out is not None)
    if out is not None:
        click.echo(f"wrote {len(rows)} row{'s' if len(rows) != 1 else ''} to {out}", err=True)


def _write_bytes(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise click.ClickException(f"cannot write {path}: {exc.strerror or exc}") from exc


@contextlib.contextmanager
def _output(path: Path | None):
    if path is None:
        yield sys.stdout
        return
    try:
        stream = path.open("w", encoding="utf-8", newline="")
    except OSError as exc:
        raise click.ClickException(f"cannot write {path}: {exc.strerror or exc}") from exc
    with stream:
        yield stream


def _print(stream, fmt: str, names: list[str], rows, *, to_file: bool) -> None:
    if fmt == "json":
        for row in rows:
            click.echo(json.dumps(dict(zip(names, row, strict=True)), default=str), file=stream)
    elif fmt in ("csv", "tsv"):
        writer = csv.writer(stream, delimiter="," if fmt == "csv" else "\t", lineterminator="\n")
        writer.writerow(names)
        writer.writerows([spreadsheet_safe(v) for v in row] for row in rows)
    elif not names:
        # ClickHouse sends no header for an empty result: say so rather than print nothing, which reads
        # as a failure (a month compared to '2026-10-01' instead of '2026-10' matches no row)
        click.echo("0 rows", file=stream)
    else:
        from rich.console import Console
        from rich.table import Table

        from dids.kernel.terminal import plain

        table = Table(caption=f"{len(rows)} row{'s' if len(rows) != 1 else ''}")
        for name in names:
            table.add_column(plain(name))
        for row in rows:
            table.add_row(*(plain("NULL" if v is None else v) for v in row))
        # a file has no terminal width: let the table be as wide as it needs
        console = Console(file=stream, width=100_000, no_color=True) if to_file else Console()
        console.print(table)
