"""`dids submit`: send a monthly DIDS extract (CSV, XML or v2 CSV) into the pipeline."""

from __future__ import annotations

from pathlib import Path

import click

from dids.kernel.settings import Settings


@click.command("submit")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--period", required=True, help="Reporting month the file covers, YYYY-MM.")
@click.option("--submitter", default=None, help="ODS code of the sending organisation, e.g. RR8.")
def command(file: Path, period: str, submitter: str | None) -> None:
    """Publish FILE as one submission: every record as an event, then a manifest.

    The events travel in chunks of up to 1,000 (one Kafka message each, written to the partition of
    their records' site|accession keys); the stream worker judges a chunk as one batch.

    The whole file is checked first: a file-level reject (DIDS075 for CSV, DIDS076 for XML) names the
    line and publishes no rows. Submitting the same file again is idempotent downstream.
    Pre-check a file without sending anything with `dids validate FILE`.

    \b
    Examples:
      dids submit october.csv --period 2026-10 --submitter RR8
      dids submit october.xml --period 2026-10
    """
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    from producers.submit import submit_file

    settings = Settings.from_env()
    with Progress(
        TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn(), transient=True
    ) as bar:
        tasks: dict[str, int] = {}

        def progress(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=total)
            bar.update(tasks[phase], completed=done)

        result = submit_file(settings, file, period=period, submitter=submitter, progress=progress)
    if result.file_reject is not None:
        r = result.file_reject
        raise click.ClickException(
            f"{file}: file rejected, {r.code} at line {r.line}: {r.message} "
            f"(submission {result.submission_id}; no records were sent)"
        )
    click.echo(
        f"submitted {result.record_count:,} records from {file} as submission {result.submission_id} "
        f"in {result.seconds:.1f}s"
    )
