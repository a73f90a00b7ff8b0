"""`dids report`: the month's statistics as one self-contained HTML file for analysts."""

from __future__ import annotations

from pathlib import Path

import click

from dids.kernel.settings import Settings


def _month(ctx, param, value: str | None) -> str:
    from datetime import datetime, timezone

    from sinks.report import ReportError, check_month

    if value is None:  # the month so far: what a newcomer wants to see first
        return datetime.now(timezone.utc).strftime("%Y-%m")
    try:
        return check_month(value)
    except ReportError as exc:
        raise click.BadParameter(str(exc)) from exc


def _size(n: int) -> str:
    return f"{n} bytes" if n < 1024 else f"{n / 1024:.1f} KiB" if n < 1024 * 1024 else f"{n / 1024 / 1024:.1f} MiB"


@click.command("report")
@click.option(
    "--month", callback=_month, metavar="YYYY-MM", help="Reporting month (of the test date) [the current month]."
)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="HTML file to write (replaced if it exists).",
)
@click.option(
    "--source",
    type=click.Choice(["live", "provisional", "final"]),
    default="live",
    show_default=True,
    help="Live current records, or the month's provisional / final snapshot (`dids snapshot`).",
)
@click.option(
    "--no-disclosure-control",
    "raw",
    is_flag=True,
    help="Internal use only: the raw statistics (stats_* views) with small counts as they are; the page says so.",
)
def command(month: str, out: Path, source: str, raw: bool) -> None:
    """Write the statistics report of one month (--month, else the current one) as one HTML file.

    The statistics of the national monthly release (DIDS-SPEC 9): activity by modality over the 13
    months to it, waiting times (median, 90th and 95th percentile) by modality, GP direct access to
    tests for early cancer diagnosis, the busiest providers, equipment utilisation (a weekday x hour
    heatmap per modality with the tests that have a date only beside it, and the busiest and idlest
    hours of CT and MRI per site; always live), and data-quality rejects by rule and by provider. Plots
    are inline SVG: the file needs no network and no scripts, so it can be mailed or
    archived as it is. The statistics are the published, disclosure-controlled ones (pub_* views: small
    counts shown as *, others rounded, DIDS_DISCLOSURE_* at `dids db migrate`) unless
    --no-disclosure-control, for internal use, asks for the raw ones.

    \b
    Examples:
      dids report --out report.html             # the current month so far
      dids report --month 2026-10 --out report-2026-10.html
      dids report --month 2026-10 --source provisional --out provisional-2026-10.html
      dids report --month 2026-10 --no-disclosure-control --out internal-2026-10.html
    """
    from dids.cli.warehouse_errors import warehouse_errors
    from sinks import report
    from sinks.clickhouse import connect

    settings = Settings.from_env()
    try:
        with warehouse_errors("the report's queries"):
            client = connect(settings)
            data = report.fetch_report_data(client, month, source, disclosure_control=not raw)
    except report.ReportError as exc:
        raise click.ClickException(str(exc)) from exc
    html = report.build_report(data).encode("utf-8")
    try:
        out.write_bytes(html)
    except OSError as exc:
        raise click.ClickException(f"cannot write {out}: {exc.strerror or exc}") from exc
    control = "INTERNAL USE ONLY, no disclosure control" if raw else "disclosure-controlled"
    click.echo(f"wrote {out} ({_size(len(html))}): {source} data for {month}, {control}")
