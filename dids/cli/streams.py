"""`dids streams`: run a stream-processor worker (Faust)."""

from __future__ import annotations

import click

from dids.kernel.settings import Settings


@click.command("streams")
@click.option("--metrics-port", type=int, default=None, help="Port for /metrics [DIDS_STREAMS_METRICS_PORT, 9101].")
@click.option(
    "--log-level", default="info", show_default=True, type=click.Choice(["debug", "info", "warning", "error"])
)
def command(metrics_port: int | None, log_level: str) -> None:
    """Run one stream-processor worker: RIS events -> validated, derived, pseudonymised records.

    Start more workers with the same DIDS_STREAMS_APP_ID to share the partitions. Needs a
    pseudonymisation key (DIDS_PSEUDONYMISATION_KEY_FILE) unless DIDS_DEMO=1; reference data from
    DIDS_REFDATA_DIR (the shipped samples in demo mode).

    \b
    Example:
      DIDS_KAFKA_BOOTSTRAP=127.0.0.1:9092 DIDS_PSEUDONYMISATION_KEY_FILE=/run/secrets/dids-key dids streams
    """
    from faust import Worker

    from dids.kernel.logs import logging_config
    from dids.kernel.metrics import serve_metrics
    from dids.kernel.topics import changelog_spec, ensure_topics
    from streams.runtime.app import make_app, readiness
    from streams.runtime.consent import ConsentRegistry
    from streams.runtime.context import build_context

    settings = Settings.from_env(streams_metrics_port=metrics_port)
    ensure_topics(settings, extra=[changelog_spec(settings)])
    consent = ConsentRegistry(settings)
    consent.start()
    if not consent.wait_until_caught_up(timeout=120):
        raise click.ClickException("the consent registry did not catch up with dids.consent within 120s")
    ctx = build_context(settings, consent=consent)
    app = make_app(settings, ctx)
    serve_metrics(settings.streams_metrics_port, settings.metrics_host, ready=lambda: readiness(app, consent))
    try:
        # our logging config, not Faust's own handler beside it (which printed every line twice)
        config = logging_config(log_level.upper(), settings.log_format)
        Worker(app, loglevel=log_level, quiet=True, logging_config=config).execute_from_commandline()
    finally:
        consent.stop()
