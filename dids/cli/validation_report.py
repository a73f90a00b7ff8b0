"""The human-readable ``dids validate`` report: rich tables of a ``Summary``.

It shows rule codes, their national wording in short, item names, and for failing rows only the row
number, site code and accession number: never an NHS number or any other submitted value.
"""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from dids.cli.validation import Summary
from dids.kernel.terminal import plain, visible
from producers.extract.errors import FileRejectError
from producers.extract.reader import Extract
from streams.rules import RULES, UNIQUENESS_CODE

_DESCRIPTIONS = {UNIQUENESS_CODE: "site code and accession number repeated in the file"}


def describe(code: str) -> str:
    """A rule's national wording in short (the rule table's), without the code."""
    if code in _DESCRIPTIONS:
        return _DESCRIPTIONS[code]
    rule = RULES.get(code)
    return "" if rule is None else rule.description


def render_summary(console: Console, extract: Extract, summary: Summary) -> None:
    layout = "" if extract.layout is None else (", header row" if extract.layout.has_header else ", no header row")
    console.print(
        f"[bold]{escape(visible(extract.path.name))}[/]: {extract.format}{layout}, {summary.records:,} records"
    )
    if extract.layout is not None and extract.layout.unknown_columns:
        unknown = escape(visible(", ".join(extract.layout.unknown_columns)))
        console.print(f"[yellow]columns kept but not validated:[/] {unknown}")
    if summary.rejects_by_code or summary.warnings_by_code:
        console.print(_codes_table(summary))
    if summary.failures:
        console.print(_failures_table(summary))
    if summary.not_checked:
        codes = ", ".join(sorted(summary.not_checked))
        console.print(f"[dim]not checked (no reference data or submission date): {codes}[/]")
    style = "red" if summary.rejected else "green"
    console.print(
        f"[{style}]accepted {summary.accepted:,}[/], [{style}]rejected {summary.rejected:,}[/], "
        f"with warnings {summary.with_warnings:,} (of {summary.records:,} records)"
    )


def render_file_reject(console: Console, error: FileRejectError) -> None:
    console.print(f"[red bold]file rejected[/] {error.code} at line {error.line}: {escape(visible(error.message))}")


def _codes_table(summary: Summary) -> Table:
    table = Table(title="Failures by rule")
    table.add_column("code")
    table.add_column("severity")
    table.add_column("records", justify="right")
    table.add_column("items")
    table.add_column("rule")
    rows = [(code, "reject", count) for code, count in summary.rejects_by_code.items()]
    rows += [(code, "warning", count) for code, count in summary.warnings_by_code.items()]
    for code, severity, count in sorted(rows):
        items = ", ".join(sorted(summary.fields_by_code.get(code, ())))
        table.add_row(code, severity, f"{count:,}", plain(items), describe(code))
    return table


def _failures_table(summary: Summary) -> Table:
    shown = len(summary.failures)
    title = f"First {shown} rejected rows" if summary.rejected > shown else "Rejected rows"
    table = Table(title=title)
    table.add_column("row", justify="right")
    table.add_column("site")
    table.add_column("accession")
    table.add_column("failures (code: items)")
    for row, site, accession, failures in summary.failures:
        text = "; ".join(f"{code}: {', '.join(fields)}" for code, fields in failures)
        table.add_row(str(row), plain(site or ""), plain(accession or ""), plain(text))
    return table
