"""`dids bench`: measure this machine's ceilings and the whole pipeline in one run; print JSON."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("bench")
@click.option("--records", type=int, default=1_000_000, show_default=True, help="Examinations in the extract.")
@click.option("--rate", type=float, default=500.0, show_default=True, help="Events/s for the freshness run.")
@click.option("--freshness-seconds", type=float, default=30.0, show_default=True, help="Length of the freshness run.")
@click.option("--ceiling-events", type=int, default=100_000, show_default=True, help="Events for the Avro ceilings.")
@click.option(
    "--validate-records", type=int, default=200_000, show_default=True, help="Rows of the CSV `dids validate` checks."
)
@click.option("--workers", type=int, default=1, show_default=True, help="Stream worker processes sharing the work.")
@click.option("--partitions", type=int, default=2, show_default=True, help="Partitions of every topic.")
@click.option(
    "--cython-optimizations",
    is_flag=True,
    help="Turn on faust-streaming's opt-in Cython fast paths in the stream worker (DIDS_STREAMS_CYTHON_OPTIMIZATIONS).",
)
@click.option("--keep", type=click.Path(path_type=Path, file_okay=False), help="Keep the scratch stack's files here.")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), help="Also write the JSON to this file.")
def command(
    records: int,
    rate: float,
    freshness_seconds: float,
    ceiling_events: int,
    validate_records: int,
    workers: int,
    partitions: int,
    cython_optimizations: bool,
    keep: Path | None,
    out: Path | None,
) -> None:
    """Benchmark: stage ceilings and the pipeline, measured in one run, printed as JSON.

    Starts its own broker, warehouse, stream worker and sink on free ports in a scratch directory
    (your `dids up` stack is not touched), submits an extract of --records examinations and times it
    until every record is queryable, then runs events at --rate for --freshness-seconds and reports
    p50/p99 freshness (ClickHouse insert time minus send time), then times `dids validate`'s checks on a
    --validate-records CSV. The JSON says which targets are met. Progress goes to stderr, JSON to stdout.
    Of your DIDS_* settings only the batching ones apply (DIDS_STREAMS_BATCH_EVENTS, _SECONDS,
    DIDS_SINK_BATCH_ROWS, _SECONDS), so that they can be measured; the JSON shows them.

    \b
    Examples:
      dids bench                              # 1M examinations: the full measurement
      dids bench --records 100000 --out bench.json
    """
    from dids.cli.benchmark import BenchConfig, dumps, run

    if (
        records < 1
        or validate_records < 1
        or rate <= 0
        or freshness_seconds <= 0
        or workers < 1
        or partitions < workers
    ):
        raise click.UsageError(
            "--records, --validate-records, --rate, --freshness-seconds and --workers must be positive, "
            "--partitions at least --workers"
        )
    config = BenchConfig(
        records=records,
        rate=rate,
        freshness_seconds=freshness_seconds,
        ceiling_events=ceiling_events,
        validate_records=validate_records,
        workers=workers,
        partitions=partitions,
        cython_optimizations=cython_optimizations,
        keep=keep,
    )
    result = dumps(run(config, say=lambda line: click.echo(line, err=True)))
    click.echo(result)
    if out is not None:
        out.write_text(result + "\n")
