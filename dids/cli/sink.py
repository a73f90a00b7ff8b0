"""`dids sink`: run the ClickHouse sink."""

from __future__ import annotations

import signal

import click

from dids.kernel.settings import Settings


@click.command("sink")
@click.option("--metrics-port", type=int, default=None, help="Port for /metrics [DIDS_SINK_METRICS_PORT, 9102].")
@click.option("--batch-rows", type=int, default=None, help="Rows per insert [DIDS_SINK_BATCH_ROWS, 5000].")
@click.option(
    "--batch-seconds",
    type=float,
    default=None,
    help="Longest wait before a partial batch is inserted [DIDS_SINK_BATCH_SECONDS, 0.5].",
)
def command(metrics_port: int | None, batch_rows: int | None, batch_seconds: float | None) -> None:
    """Consume dids.examinations and dids.rejects and insert into ClickHouse, exactly once.

    Offsets are committed only after ClickHouse acknowledged the insert. Start more sinks with the
    same DIDS_SINK_GROUP to share the partitions. Stop with Ctrl-C or SIGTERM (the batch in hand
    is inserted first).

    \b
    Example:
      DIDS_CLICKHOUSE_URL=http://127.0.0.1:8123 dids sink --batch-rows 10000
    """
    from dids.kernel.metrics import serve_metrics
    from sinks.migrate import migrate
    from sinks.sink import ClickHouseSink

    settings = Settings.from_env(
        sink_metrics_port=metrics_port, sink_batch_rows=batch_rows, sink_batch_seconds=batch_seconds
    )
    migrate(settings)
    sink = ClickHouseSink(settings)
    serve_metrics(settings.sink_metrics_port, settings.metrics_host, ready=sink.readiness)
    signal.signal(signal.SIGTERM, lambda *_: sink.stop())
    signal.signal(signal.SIGINT, lambda *_: sink.stop())
    sink.run()
