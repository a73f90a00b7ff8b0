"""`dids dq-report`: one provider's month (or one extract file) as a data-quality report in one HTML file."""

from __future__ import annotations

from pathlib import Path

import click

from dids.kernel.settings import Settings


def _checked(check: str):
    """A click callback running ``sinks.report.<check>`` on the value (imported late: `--help` stays fast)."""

    def callback(ctx, param, value: str | None) -> str | None:
        from sinks import report

        if value is None:
            return None
        try:
            return getattr(report, check)(value)
        except report.ReportError as exc:
            raise click.BadParameter(str(exc)) from exc

    return callback


OUT_OPTION = click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="HTML file to write (replaced if it exists).",
)


def describe_codes(data) -> None:
    """Fill ``data.descriptions`` with the national wording of every code it shows (the rule table's)."""
    from dids.cli.validation_report import describe

    codes = {r.code for r in data.rules} | {c for rec in data.rejected_records for c, _, _ in rec.failures}
    if data.file_reject is not None:
        codes.add(data.file_reject.code)
    data.descriptions = {code: describe(code) for code in sorted(codes)}


def write_report(data, out: Path) -> int:
    """Write the report's HTML to ``out``; its size in bytes. A path that cannot be written is a ClickException."""
    from sinks.report import build_dq_report

    describe_codes(data)
    html = build_dq_report(data).encode("utf-8")
    if out.is_dir():
        raise click.ClickException(f"cannot write {out}: it is a directory; give a file name such as {out}/dq.html")
    try:
        out.write_bytes(html)
    except OSError as exc:
        raise click.ClickException(
            f"cannot write {out}: {exc.strerror or exc} (check the folder exists and you may write there)"
        ) from exc
    return len(html)


@click.command("dq-report")
@click.option(
    "--provider", callback=_checked("check_provider"), metavar="CODE", help="ODS code of the provider (with --month)."
)
@click.option(
    "--month", callback=_checked("check_month"), metavar="YYYY-MM", help="Month of the test date (with --provider)."
)
@click.option(
    "--submission",
    callback=_checked("check_submission_id"),
    metavar="ID",
    help="One extract file instead: the submission id `dids submit` printed.",
)
@OUT_OPTION
def command(provider: str | None, month: str | None, submission: str | None, out: Path) -> None:
    """Write a provider's data-quality report for one month (or for one extract file) as one HTML file.

    For a trust's data-quality lead: records received, accepted, rejected and with warnings; each
    rule that fired (code, severity, national wording, records, share, the national share that month
    and the provider's share in each of the last six months); how often each item is blank; and
    every rejected record by site, accession number and record number in its file, with its rule
    codes and the items they concern. No patient value is shown (no NHS number, postcode, birth date
    or person id). Counts are those of the dq_rejects_by_rule and dq_warnings_by_rule views.

    To check a file before sending it, with no warehouse: dids validate FILE --report FILE.html

    \b
    Examples:
      dids dq-report --provider RJ1 --month 2026-10 --out dq-RJ1-2026-10.html
      dids dq-report --submission 0c3f4e7a-1b2d-5e6f-8a9b-0c1d2e3f4a5b --out dq-file.html
    """
    from dids.cli.warehouse_errors import warehouse_errors
    from sinks import report
    from sinks.clickhouse import connect

    if submission is not None and (provider or month):
        raise click.UsageError("give either --submission ID, or --provider CODE with --month YYYY-MM, not both")
    if submission is None and not (provider and month):
        raise click.UsageError("give --provider CODE and --month YYYY-MM (or --submission ID for one extract file)")
    if out.is_dir():
        raise click.BadParameter(f"{out} is a directory; give a file name such as {out}/dq.html", param_hint="--out")
    settings = Settings.from_env()
    try:
        with warehouse_errors("the report's queries"):
            client = connect(settings)
            if submission is not None:
                data = report.fetch_submission(client, submission)
            else:
                data = report.fetch_provider_month(client, provider, month)
    except report.ReportError as exc:
        raise click.ClickException(str(exc)) from exc
    size = write_report(data, out)
    click.echo(
        f"wrote {out} ({size:,} bytes): {data.subject}: {data.received:,} records, {data.rejected:,} rejected, "
        f"{len(data.rules)} rules fired"
    )
