"""`dids broker`: fetch and run the local Apache Kafka broker in the foreground."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("broker")
@click.option(
    "--data",
    "data_dir",
    type=click.Path(path_type=Path),
    default=Path(".dids/kafka"),
    show_default=True,
    help="Broker data directory (formatted on first use).",
)
@click.option("--port", type=int, default=9092, show_default=True, help="Client port.")
@click.option("--controller-port", type=int, default=9093, show_default=True, help="KRaft controller port.")
@click.option("--fetch-only", is_flag=True, help="Only fetch the Kafka jars with Maven, then exit (used by CI).")
@click.option(
    "--write-checksums",
    is_flag=True,
    help="After a deliberate Kafka version change: fetch, then write deploy/kafka/jars.sha256 from the jars.",
)
def command(data_dir: Path, port: int, controller_port: int, fetch_only: bool, write_checksums: bool) -> None:
    """Run a single-node Apache Kafka broker (KRaft) until Ctrl-C.

    The jars are fetched from Maven Central with Maven on first use into .cache/kafka/ (strict
    checksums) and checked against deploy/kafka/jars.sha256 before every start.

    \b
    Examples:
      dids broker --fetch-only
      dids broker --data /tmp/kafka --port 19092 --controller-port 19093
    """
    import signal
    import threading

    from deploy.local_kafka import ensure_kafka_libs, start_broker
    from deploy.local_kafka import write_checksums as write_list

    if write_checksums:
        libs = ensure_kafka_libs(verify=False)  # the list is what is being written
        click.echo(f"wrote {write_list(libs)}: review the diff before committing it")
        return
    libs = ensure_kafka_libs()
    if fetch_only:
        click.echo(f"Kafka jars in {libs}")
        return
    broker = start_broker(data_dir.resolve(), port, controller_port, data_dir.resolve() / "broker.log")
    click.echo(
        f"Kafka broker on {broker.bootstrap} (ready in {broker.startup_seconds:.1f}s); "
        f"log: {broker.process.log_file}; Ctrl-C to stop"
    )
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        while not done.wait(1.0) and broker.process.alive():
            pass
    except KeyboardInterrupt:
        pass
    broker.stop()
