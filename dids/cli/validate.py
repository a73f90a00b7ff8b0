"""`dids validate`: pre-check a monthly DIDS extract offline, with the stream's own cleansing and rules."""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime, time
from pathlib import Path

import click

SUBMISSION_TIME_OF_DAY = time(23, 59, 59)  # S for --submission-date: the end of that day, UTC
_PROGRESS_MIN_BYTES = 1 << 20


@click.command("validate")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True))
@click.option(
    "--submission-date",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Date the submission is taken as received (S = 23:59:59 UTC that day) for DIDS049/051/055/066. Default: now.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per record on stdout, in input order.")
@click.option(
    "--refdata",
    type=click.Path(exists=True, file_okay=False),
    default=None,
    help="Reference-data directory (streams/refdata/FORMATS.md) for the ODS, postcode and code rules "
    "[DIDS_REFDATA_DIR; default: none, those rules are not checked].",
)
@click.option(
    "--submitter", default=None, help="ODS code of the submitting organisation (local code mapping, derivations)."
)
@click.option("--derive", is_flag=True, help="Add the national derived columns to each JSON object (no identifiers).")
@click.option(
    "--encoding",
    type=click.Choice(["utf-8", "cp1252"]),
    default="utf-8",
    show_default=True,
    help="CSV text encoding. UTF-8 (with or without BOM) unless you know the file is Windows-1252.",
)
@click.option("--show", type=int, default=20, show_default=True, help="How many rejected rows the summary lists.")
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="Also write the data-quality report (as `dids dq-report` shows it after submission) to this HTML file.",
)
def command(
    file: str,
    submission_date: datetime | None,
    as_json: bool,
    refdata: str | None,
    submitter: str | None,
    derive: bool,
    encoding: str,
    show: int,
    report_path: Path | None,
) -> None:
    """Validate a DIDS extract FILE (national CSV v1/v2 or DIDS-v1-0 XML) without Kafka or ClickHouse.

    Runs the same cleansing and national rules as the stream processors, DIDS071 across the whole
    file, and the file-level rejects DIDS075 (CSV) and DIDS076 (XML). Rules needing reference data
    are reported as not checked unless --refdata is given.

    Exit status: 0 all records accepted (warnings allowed), 1 any record or the file rejected,
    2 usage or file errors.

    \b
    Examples:
      dids validate RJ1_2024-06.csv
      dids validate RJ1_2024-06.csv --submission-date 2024-07-10
      dids validate RJ1_2024-06.csv --refdata streams/refdata/samples --submitter RJ1
      dids validate RJ1_2024-06.xml --json | jq -c 'select(.status == "rejected")'
      dids validate RJ1_2024-06.csv --report dq-RJ1_2024-06.html
    """
    from rich.console import Console

    from dids.cli.validation import build_checks, validate_extract
    from dids.cli.validation_report import render_file_reject, render_summary
    from dids.kernel.errors import DidsError
    from dids.kernel.settings import Settings
    from producers.extract import FileRejectError, open_extract

    received = datetime.now(UTC) if submission_date is None else _end_of_day(submission_date)
    try:
        refdata = refdata or Settings.from_env().refdata_dir or None
        checks = build_checks(received, refdata_dir=refdata, submitter=submitter, derive=derive)
    except DidsError as exc:
        click.secho(f"error: {exc}", fg="red", err=True)
        sys.exit(2)
    out, err = Console(), Console(stderr=True)
    try:
        extract = open_extract(file, encoding=encoding)
        with _progress(err, extract.size, quiet=as_json) as on_progress:
            run = validate_extract(extract, checks, on_progress=on_progress)
        summary = run.summary(max(show, 0))
        if as_json:
            for report in run.reports():
                click.echo(json.dumps(report.as_json(), ensure_ascii=False, default=str))
    except FileRejectError as exc:
        if report_path is not None:
            from dids.cli.validation_dq import report_of_file_reject

            _write_report(report_of_file_reject(Path(file).name, exc), report_path, err)
        if as_json:
            click.echo(json.dumps(exc.as_json(), ensure_ascii=False))
        else:
            render_file_reject(out, exc)
        sys.exit(1)
    except BrokenPipeError:
        _silence_stdout()  # the reader went away (e.g. `| head`): stop quietly
        sys.exit(1)
    except OSError as exc:
        click.secho(f"error: cannot read {file}: {exc.strerror or exc}", fg="red", err=True)
        sys.exit(2)
    if not as_json:
        render_summary(out, extract, summary)
    if report_path is not None:
        from dids.cli.validation_dq import report_of_run

        _write_report(report_of_run(extract, run), report_path, err)
    sys.exit(1 if summary.rejected else 0)


def _write_report(data, path: Path, console) -> None:
    """Write the data-quality report; a path that cannot be written is a usage error (exit 2)."""
    from rich.markup import escape

    from dids.cli.dq_report import write_report
    from dids.kernel.terminal import visible

    try:
        size = write_report(data, path)
    except click.ClickException as exc:
        click.secho(f"error: {exc.message}", fg="red", err=True)
        sys.exit(2)
    console.print(f"wrote the data-quality report {escape(visible(str(path)))} ({size:,} bytes)")


def _silence_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _end_of_day(day: datetime) -> datetime:
    return datetime.combine(day.date(), SUBMISSION_TIME_OF_DAY, tzinfo=UTC)


class _progress:
    """A transient progress bar on stderr for large files on a terminal; otherwise no callback."""

    def __init__(self, console, size: int, *, quiet: bool) -> None:
        self.enabled = console.is_terminal and size >= _PROGRESS_MIN_BYTES and not quiet
        self.console = console
        self.bar = None
        self.tasks: dict[str, int] = {}

    def __enter__(self):
        if not self.enabled:
            return None
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

        self.bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
            console=self.console,
            transient=True,
        )
        self.bar.start()
        return self._update

    def _update(self, phase: str, done: int, total: int) -> None:
        if phase not in self.tasks:
            self.tasks[phase] = self.bar.add_task(phase, total=total)
        self.bar.update(self.tasks[phase], completed=done, total=total)

    def __exit__(self, *exc_info) -> None:
        if self.bar is not None:
            self.bar.stop()
