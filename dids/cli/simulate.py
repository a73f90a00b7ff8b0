"""`dids simulate`: publish realistic simulated RIS traffic to Kafka."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import click

from dids.kernel.settings import Settings

SIMULATED_PROVIDERS = 5  # `dids simulate` and the history `dids up` backfills


def _since(ctx, param, value: str | None):
    from datetime import datetime, timezone

    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 time, e.g. 2026-12-02T14:00:00+00:00") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


@click.command("simulate")
@click.option("--rate", type=float, default=0.0, show_default=True, help="Events per second (0 = as fast as possible).")
@click.option(
    "--duration", type=float, default=0.0, show_default=True, help="Stop after this many seconds (0 = no limit)."
)
@click.option("--count", type=int, default=None, help="Stop after this many events.")
@click.option(
    "--providers", type=int, default=SIMULATED_PROVIDERS, show_default=True, help="Number of simulated NHS trusts."
)
@click.option(
    "--seed", type=int, default=1, show_default=True, help="Random seed: the same seed gives the same events."
)
@click.option(
    "--invalid-rate",
    type=float,
    default=0.02,
    show_default=True,
    help="Share of examinations deliberately breaking a national rule.",
)
@click.option(
    "--mode",
    type=click.Choice(["lifecycle", "records"]),
    default="lifecycle",
    show_default=True,
    help="lifecycle: requested/performed/reported/cancelled/corrected events; "
    "records: one final event per examination.",
)
@click.option(
    "--to-csv",
    "to_csv",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write --count final records as a national DIDS CSV extract instead of publishing.",
)
@click.option(
    "--to-xml",
    "to_xml",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write --count final records as DIDS-v1-0 XML instead of publishing.",
)
@click.option(
    "--to-hl7",
    "to_hl7",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write --count lifecycle events as MLLP-framed HL7 v2 messages (ORM/ORU) instead of publishing.",
)
@click.option(
    "--since",
    callback=_since,
    metavar="TIME",
    default=None,
    help="Start the simulated clock here (ISO 8601, UTC unless it says otherwise) instead of 00:00 on the "
    "1st of the month two months back; `dids up` passes the end of its backfilled history.",
)
@click.option("--metrics-port", type=int, default=None, help="Port for /metrics [DIDS_PRODUCER_METRICS_PORT, 9103].")
def command(
    rate: float,
    duration: float,
    count: int | None,
    providers: int,
    seed: int,
    invalid_rate: float,
    mode: str,
    to_csv: Path | None,
    to_xml: Path | None,
    to_hl7: Path | None,
    since,
    metrics_port: int | None,
) -> None:
    """Publish simulated RIS examination events to dids.ris.events.

    Without --count or --duration it runs until stopped (Ctrl-C). The simulated clock starts on the 1st
    of the month two months back (or at --since) with the departments' waiting lists already in place,
    and runs as fast as --rate lets it; each event is received a few seconds after it happens.

    \b
    Examples:
      dids simulate --count 10000                 # as fast as possible, with a progress bar
      dids simulate --rate 50 --providers 8       # steady trickle until Ctrl-C
      dids simulate --count 1000 --invalid-rate 0.1 --seed 7
      dids simulate --count 100000 --to-csv october.csv   # an extract file for dids validate / dids submit
      dids simulate --count 500 --to-hl7 orders.mllp      # then: nc 127.0.0.1 2575 < orders.mllp
    """
    from rich.progress import Progress

    from dids.kernel.metrics import serve_metrics
    from producers.generator import SimulationConfig
    from producers.simulate import run_simulation

    if to_csv or to_xml:
        _write_extract(to_csv, to_xml, count, providers, seed, invalid_rate)
        return
    if to_hl7:
        _write_hl7(to_hl7, count, providers, seed, invalid_rate)
        return
    settings = Settings.from_env(producer_metrics_port=metrics_port)
    # beside a running stack (whose simulator has the port) a second simulator takes a free one
    serve_metrics(settings.producer_metrics_port, settings.metrics_host, or_any_free=True)
    config = SimulationConfig(seed=seed, providers=providers, invalid_rate=invalid_rate, clock_start=since)
    stopping = threading.Event()
    # SIGTERM (`dids down`) and Ctrl-C stop cleanly: everything already produced is flushed
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    with Progress(transient=False) as bar:
        task = bar.add_task("publishing events", total=count)
        stats = run_simulation(
            settings,
            config,
            mode=mode,
            rate=rate,
            duration=duration,
            count=count,
            progress=lambda n: bar.advance(task, n),
            should_stop=stopping.is_set,
        )
    click.echo(f"published {stats.events:,} events in {stats.seconds:.1f}s ({stats.rate:,.0f}/s)")


def _write_extract(
    to_csv: Path | None, to_xml: Path | None, count: int | None, providers: int, seed: int, invalid_rate: float
) -> None:
    from datetime import datetime, timezone

    from producers.extract.writer import write_csv, write_xml
    from producers.generator import SimulationConfig, records

    if count is None:
        raise click.UsageError("--to-csv/--to-xml need --count")
    config = SimulationConfig(seed=seed, providers=providers, invalid_rate=invalid_rate)
    now = datetime.now(timezone.utc)
    for path, write in ((to_csv, write_csv), (to_xml, write_xml)):
        if path is not None:
            n = write(records(config, count, now), path)
            click.echo(f"wrote {n:,} records to {path}")


def _write_hl7(path: Path, count: int | None, providers: int, seed: int, invalid_rate: float) -> None:
    import itertools
    from datetime import datetime, timezone

    from producers.generator import SimulationConfig, events
    from producers.hl7.mllp import frame
    from producers.hl7.writer import encode_message

    if count is None:
        raise click.UsageError("--to-hl7 needs --count")
    config = SimulationConfig(seed=seed, providers=providers, invalid_rate=invalid_rate)
    n = 0
    with open(path, "wb") as out:
        for event in itertools.islice(events(config, now=datetime.now(timezone.utc)), count):
            out.write(frame(encode_message(event)))
            n += 1
    click.echo(f"wrote {n:,} HL7 messages (MLLP-framed) to {path}")
