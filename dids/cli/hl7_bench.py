"""`dids hl7-bench`: time from an HL7 message to its commit and application acknowledgements; JSON."""

from __future__ import annotations

import json
from pathlib import Path

import click

from dids.cli.hl7 import _address
from dids.kernel.errors import DidsError


@click.command("hl7-bench")
@click.option("--to", "target", default="127.0.0.1:2575", show_default=True, help="HOST:PORT of a running `dids hl7`.")
@click.option("--rate", type=click.FloatRange(min=0.1, max=5000), default=50.0, show_default=True, help="Messages/s.")
@click.option(
    "--seconds", type=click.FloatRange(min=1, max=3600), default=30.0, show_default=True, help="How long to send."
)
@click.option(
    "--connections", type=click.IntRange(min=1, max=100), default=1, show_default=True, help="MLLP connections."
)
@click.option(
    "--wait",
    type=click.FloatRange(min=1, max=600),
    default=60.0,
    show_default=True,
    help="Seconds after the last message to wait for the acknowledgements still due.",
)
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), help="Also write the JSON to this file.")
def command(target: str, rate: float, seconds: float, connections: int, wait: float, out: Path | None) -> None:
    """Measure the feedback loop as a RIS sees it: simulated examinations sent as HL7 with MSH-15/16 = AL
    at --rate for --seconds to a running listener, and for each message the time to its commit ACK (CA,
    Kafka has it) and to its application ACK (AA/AE, the stream's verdict). Prints JSON: p50, p99 and
    max in ms, the AA/AE counts, any acknowledgement missing, and whether p99 <= 2 s was met.

    Needs the listener and a stream worker on the same Kafka (`dids up`, then `dids hl7`). The messages
    are simulated and fresh (new event ids): they become examinations like any other.

    \b
    Examples:
      dids hl7-bench                                   # 50 messages/s for 30 s to 127.0.0.1:2575
      dids hl7-bench --to 10.1.2.3:2575 --rate 100 --seconds 60 --connections 4 --out acks.json
    """
    from producers.hl7.ack_bench import AckBenchConfig, run_ack_bench

    host, port = _address(target)
    config = AckBenchConfig(host=host, port=port, rate=rate, seconds=seconds, connections=connections, wait=wait)
    try:
        result = run_ack_bench(config)
    except OSError as exc:
        raise DidsError(
            f"cannot talk to an HL7 listener at {host}:{port} ({exc.strerror or type(exc).__name__}): "
            "start one with `dids hl7 --listen HOST:PORT` (and `dids up` for the stream worker)"
        ) from None
    text = json.dumps(result, indent=2)
    click.echo(text)
    if out is not None:
        out.write_text(text + "\n")
