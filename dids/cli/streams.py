"""`dids streams`: run a stream-processor worker (Faust)."""

from __future__ import annotations

import click

from dids.settings import Settings


@click.command("streams")
@click.option("--metrics-port", type=int, default=None, help="Port for /metrics [DIDS_STREAMS_METRICS_PORT, 9101].")
@click.option(
    "--log-level", default="info", show_default=True, type=click.Choice(["debug", "info", "warning", "error"])
)
def command(metrics_port: int | None, log_level: str) -> None:
    """Run one stream-processor worker: RIS events -> validated, derived records.

    Start more workers with the same DIDS_STREAMS_APP_ID to share the partitions.

    \b
    Example:
      DIDS_KAFKA_BOOTSTRAP=127.0.0.1:9092 dids streams --metrics-port 9101
    """
    from faust import Worker

    from dids.metrics import serve_metrics
    from streams.app import make_app
    from streams.topics import ensure_topics

    settings = Settings.from_env(streams_metrics_port=metrics_port)
    ensure_topics(settings)
    serve_metrics(settings.streams_metrics_port, settings.metrics_host)
    app = make_app(settings)
    Worker(app, loglevel=log_level, quiet=True).execute_from_commandline()
