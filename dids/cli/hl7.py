"""`dids hl7`: run the HL7 v2 MLLP listener (RIS orders and reports -> dids.ris.events)."""

from __future__ import annotations

import click

from dids.kernel.errors import ConfigError
from dids.kernel.settings import Settings
from producers.hl7.mllp import DLQ_MAX_BYTES


def _address(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise click.BadParameter(f"expected HOST:PORT, e.g. 127.0.0.1:2575, got {value!r}")
    return host.strip("[]") or "0.0.0.0", int(port)


@click.command("hl7")
@click.option(
    "--listen",
    default="127.0.0.1:2575",
    show_default=True,
    envvar="DIDS_HL7_LISTEN",
    show_envvar=True,
    help="HOST:PORT to accept MLLP connections on (0.0.0.0:2575 in a container).",
)
@click.option(
    "--max-message-bytes",
    type=click.IntRange(min=1024, max=DLQ_MAX_BYTES),
    default=512 * 1024,
    show_default=True,
    envvar="DIDS_HL7_MAX_MESSAGE_BYTES",
    show_envvar=True,
    help=f"Largest message accepted (at most {DLQ_MAX_BYTES:,}: its dead-letter copy must fit in one Kafka "
    "message); a bigger frame gets AR and the connection is closed.",
)
@click.option(
    "--frame-deadline",
    type=click.FloatRange(min=0.1),
    default=30.0,
    show_default=True,
    envvar="DIDS_HL7_FRAME_DEADLINE",
    show_envvar=True,
    help="Seconds a whole message may take to arrive, however slowly its bytes come; then it is "
    "dead-lettered and the connection closed.",
)
@click.option(
    "--idle-timeout",
    type=click.FloatRange(min=0.1),
    default=60.0,
    show_default=True,
    envvar="DIDS_HL7_IDLE_TIMEOUT",
    show_envvar=True,
    help="Seconds without a byte before a connection is closed.",
)
@click.option(
    "--max-connections",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    envvar="DIDS_HL7_MAX_CONNECTIONS",
    show_envvar=True,
    help="Connections served at once; more are refused.",
)
@click.option(
    "--allow-from",
    multiple=True,
    envvar="DIDS_HL7_ALLOW_FROM",
    show_envvar=True,
    help="Accept connections only from this address or network (e.g. 10.1.0.0/16); repeat, or give a "
    "comma-separated list. Others are closed unread. Default: anyone who can reach the port.",
)
@click.option(
    "--allow-facility",
    multiple=True,
    envvar="DIDS_HL7_ALLOW_FACILITY",
    show_envvar=True,
    help="Accept messages only from this sending facility (MSH-4, its first or second component, e.g. "
    "an ODS code); repeat, or give a comma-separated list. Others get AR and are dead-lettered.",
)
@click.option(
    "--tls-cert",
    type=click.Path(dir_okay=False),
    default="",
    envvar="DIDS_HL7_TLS_CERT",
    show_envvar=True,
    help="PEM certificate (chain): serve MLLP over TLS 1.2+ (needs --tls-key).",
)
@click.option(
    "--tls-key",
    type=click.Path(dir_okay=False),
    default="",
    envvar="DIDS_HL7_TLS_KEY",
    show_envvar=True,
    help="PEM private key of --tls-cert; refused if group or others may read it.",
)
@click.option(
    "--tls-client-ca",
    type=click.Path(dir_okay=False),
    default="",
    envvar="DIDS_HL7_TLS_CLIENT_CA",
    show_envvar=True,
    help="PEM CA: senders must present a client certificate it signed (mutual TLS).",
)
@click.option(
    "--verdict-timeout",
    type=click.FloatRange(min=1, max=3600),
    default=300.0,
    show_default=True,
    envvar="DIDS_HL7_VERDICT_TIMEOUT",
    show_envvar=True,
    help="Enhanced mode (MSH-16 AL/ER/SU): seconds an application ACK may wait for the stream's verdict; "
    "later, none is sent (the sender's own timeout resends; the duplicate is recognised).",
)
@click.option(
    "--ack-wait",
    type=click.FloatRange(min=0, max=30),
    default=0.0,
    show_default=True,
    envvar="DIDS_HL7_ACK_WAIT",
    show_envvar=True,
    help="Original mode (no MSH-15/16): seconds the one ACK may wait for the verdict, then carry the "
    "failed rules (AE when one rejects); a plain AA when the verdict is later. 0: AA as soon as Kafka has it.",
)
@click.option("--metrics-port", type=int, default=None, help="Port for /metrics [DIDS_HL7_METRICS_PORT, 9104].")
def command(
    listen: str,
    max_message_bytes: int,
    frame_deadline: float,
    idle_timeout: float,
    max_connections: int,
    allow_from: tuple[str, ...],
    allow_facility: tuple[str, ...],
    tls_cert: str,
    tls_key: str,
    tls_client_ca: str,
    verdict_timeout: float,
    ack_wait: float,
    metrics_port: int | None,
):
    """Receive HL7 v2 ORM^O01, OMI^O23 and ORU^R01 over MLLP and publish examination events.

    Each message is acknowledged AA only after Kafka stored its events; AE (cannot be mapped) and
    AR (cannot be read) carry the reason in MSA-3 and ERR, and the raw message goes to dids.dlq.
    A message with MSH-15/16 (enhanced mode: AL, ER, SU, NE) gets a commit ACK (CA/CE/CR) and then,
    on the same connection, an application ACK (AA/AE) with one ERR per failed national rule once the
    stream has judged it (the verdicts come back on dids.feedback; run `dids streams` too).
    Field-by-field mapping: producers/hl7/MAPPING.md. Stop with Ctrl-C or SIGTERM: no new
    connections, in-flight messages are finished and acknowledged, the producer is flushed.

    \b
    Examples:
      dids hl7 --listen 127.0.0.1:2575
      dids hl7 --listen 0.0.0.0:2575 --idle-timeout 300 --metrics-port 9104
      DIDS_KAFKA_BOOTSTRAP=kafka:9092 dids hl7 --listen 0.0.0.0:2575 --max-message-bytes 900000
      dids hl7 --listen 0.0.0.0:2575 --allow-from 10.20.0.0/16 --allow-facility RXX \\
        --tls-cert hl7.pem --tls-key hl7.key
      dids hl7 --listen 0.0.0.0:2575 --verdict-timeout 60     # enhanced-mode senders
      dids hl7 --listen 0.0.0.0:2575 --ack-wait 2             # original mode: the verdict in the one ACK
    """
    from producers.hl7.access import SourcePolicy, parse_facilities, parse_networks, tls_context
    from producers.hl7.listener import ListenerConfig, run_listener

    host, port = _address(listen)
    settings = Settings.from_env(hl7_metrics_port=metrics_port)
    if port == 0:
        raise ConfigError("--listen needs a fixed port: RIS interfaces are configured with it")
    config = ListenerConfig(
        host=host,
        port=port,
        max_message_bytes=max_message_bytes,
        frame_deadline=frame_deadline,
        idle_timeout=idle_timeout,
        max_connections=max_connections,
        sources=SourcePolicy(parse_networks(allow_from), parse_facilities(allow_facility)),
        tls=tls_context(tls_cert, tls_key, tls_client_ca),
        verdict_timeout=verdict_timeout,
        ack_wait=ack_wait,
    )
    run_listener(settings, config, settings.hl7_metrics_port)
