"""`dids hl7`: the MLLP listener. HL7 v2 in, examination events to Kafka, acknowledgements back.

Original mode (MSH-15/16 empty), per message (connections are served concurrently, messages on one
connection in order):

* decoded and mapped -> every event sent to ``dids.ris.events`` -> ``AA`` only after Kafka
  acknowledged all of them (the delivery callback settles an asyncio future; a thread polls the
  producer so callbacks fire promptly);
* undecodable bytes (not HL7, NUL bytes, invalid declared charset, oversized frame) -> ``AR``;
* decoded but not mappable (unsupported type, no OBR, bad order control, segment order) -> ``AE``;
* Kafka did not acknowledge -> ``AE`` with ERR code 207: not dead-lettered, the sender should resend;
* Kafka refused the event itself (too large, invalid) -> ``AR`` and a dead-letter copy (resending cannot help);
* a frame not complete within the frame deadline -> dead-lettered as truncated, connection closed;
* no AE/AR is ever sent for a message whose dead-letter copy was not stored: the connection is dropped;
* a frame cut off by a disconnect -> no ACK possible.

Enhanced mode (MSH-15/16 valued, ``producers/hl7/modes.py``): the same, answered with the commit codes
(``CA`` for AA, ``CE`` for AE, ``CR`` for AR) when MSH-15 asks for them; then, when MSH-16 asks, the
application acknowledgement (``AA``/``AE`` with one ERR per failed national rule) is written on the same
connection once the stream's verdict on every event of the message arrived on ``dids.feedback``
(``producers/hl7/verdicts.py``), while the connection goes on serving the next messages. A connection
waiting for a verdict is not closed for being idle; one that closes drops its pending verdicts (the
sender resends; the stream recognises the duplicate and judges it again). Original mode may wait for the
verdict too (``ack_wait``), bounded: its single ACK then carries the rules, or is a plain AA when late.
An incoming ``ACK`` message (a sender acknowledging our acknowledgement) gets no answer.

Everything that does not become an event (AR, AE for content, truncated frames) goes to ``dids.dlq``
with its raw bytes and the headers ``dids.error``, ``dids.error.message``, ``dids.source`` = hl7,
``dids.peer``, ``dids.hl7.type``, ``dids.hl7.control_id`` and ``dids.hl7.bytes``. No header or log line
carries a field value: reasons name segments and fields only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import ssl
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from prometheus_client import Counter, Gauge, Histogram

from dids.kernel import topics
from dids.kernel.keys import event_key
from dids.kernel.metrics import LATENCY_BUCKETS, serve_metrics
from dids.kernel.producer import EventProducer
from dids.kernel.settings import Settings
from producers.hl7.access import SourcePolicy, UnknownSourceError
from producers.hl7.ack import build_ack
from producers.hl7.application import APPLICATION_ACKS, ApplicationAcks
from producers.hl7.bridge import KafkaBridge
from producers.hl7.decode import MshHeader, decode_message, read_header
from producers.hl7.errors import (
    APPLICATION_INTERNAL_ERROR,
    DeadLetterFailedError,
    DecodeError,
    DeliveryError,
    Hl7Error,
    MappingError,
    OversizedError,
    RefusedEventError,
    TruncatedFrameError,
)
from producers.hl7.mapping import SUPPORTED_TYPES, map_message
from producers.hl7.mllp import DLQ_MAX_BYTES, FrameReader, FrameTimeout, IdleTimeout, Oversized, Truncated, frame
from producers.hl7.modes import AckModeError, AckModes, ack_modes
from producers.hl7.verdicts import FeedbackFollower, VerdictBoard
from schemas.catalog import EXAMINATION_EVENT, default_catalog

log = logging.getLogger(__name__)

MESSAGES = Counter("dids_hl7_messages_total", "HL7 messages received, by message type and ACK code", ["type", "ack"])
CONNECTIONS = Gauge("dids_hl7_connections", "Open MLLP connections")
ACK_SECONDS = Histogram(
    "dids_hl7_ack_seconds", "From a complete frame to its ACK written to the socket", buckets=LATENCY_BUCKETS
)
SKIPPED = Counter("dids_hl7_skipped_bytes_total", "Bytes outside MLLP frames, skipped")
REFUSED = Counter(
    "dids_hl7_refused_connections_total", "Connections closed unread, by reason", ["reason"]
)  # reason: too_many, stopping, not_allowed
VERDICT_SECONDS = Histogram(
    "dids_hl7_verdict_seconds", "From a complete frame to its application ACK written", buckets=LATENCY_BUCKETS
)
ACKS_RECEIVED = Counter("dids_hl7_acks_received_total", "ACK messages received (acknowledgements of ours): no answer")
# original-mode code -> its enhanced-mode commit code
_COMMIT = {"AA": "CA", "AE": "CE", "AR": "CR"}


@dataclass(frozen=True)
class ListenerConfig:
    host: str = "127.0.0.1"
    port: int = 2575
    # below the producer's message.max.bytes (1,000,000) and the dead-letter cap: whatever a frame holds,
    # its dead-letter copy fits in one Kafka message
    max_message_bytes: int = 512 * 1024
    idle_timeout: float = 60.0  # close a connection that sends nothing for this long
    frame_deadline: float = 30.0  # a whole frame, start block to end block, within this long
    max_connections: int = 1000
    shutdown_grace: float = 30.0  # SIGTERM: how long in-flight messages may take
    sources: SourcePolicy = SourcePolicy()  # who may send (producers/hl7/access.py)
    tls: ssl.SSLContext | None = None  # MLLP over TLS when set
    verdict_timeout: float = 300.0  # enhanced mode: how long an application ACK may wait for the verdict
    ack_wait: float = 0.0  # original mode: how long the one ACK may wait for the verdict (0: it does not)


@dataclass
class _Connection:
    task: asyncio.Task
    busy: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # one acknowledgement written at a time
    later: set[asyncio.Task] = field(default_factory=set)  # application ACKs waiting for their verdict


@dataclass
class Answer:
    """What a message gets: ``ack`` at once (None: nothing, as MSH-15 asked), and ``verdict``, the
    application acknowledgement to write when it resolves (None from it: nothing to send)."""

    ack: bytes | None
    verdict: Awaitable[bytes | None] | None = None


class Hl7Listener:
    def __init__(self, settings: Settings, config: ListenerConfig, producer: EventProducer | None = None) -> None:
        self._settings = settings
        self._config = config
        self._producer = producer or EventProducer(settings, **{"linger.ms": 5})
        self._events_topic = settings.topic(topics.RIS_EVENTS)
        self._dlq_topic = settings.topic(topics.DLQ)
        self._catalog = default_catalog()
        self._connections: dict[asyncio.Task, _Connection] = {}
        self._stopping = False
        self._server: asyncio.Server | None = None
        self._bridge: KafkaBridge | None = None
        self._board = VerdictBoard()
        self._follower: FeedbackFollower | None = None
        self._application = ApplicationAcks(self._board, config.verdict_timeout, config.ack_wait)

    async def start(self) -> int:
        """Bind and start serving; returns the bound port."""
        self._bridge = KafkaBridge(self._producer, asyncio.get_running_loop())
        self._bridge.start()
        # before the first message: a verdict published after this is seen
        self._follower = FeedbackFollower(self._settings, self._board, asyncio.get_running_loop())
        await asyncio.to_thread(self._follower.start)
        self._server = await asyncio.start_server(
            self._serve, self._config.host, self._config.port, ssl=self._config.tls
        )
        port = self._server.sockets[0].getsockname()[1]
        log.info("HL7 MLLP listener on %s:%d%s", self._config.host, port, " (TLS)" if self._config.tls else "")
        return port

    async def stop(self) -> None:
        """Stop accepting, let in-flight messages finish and ACK, close idle connections, flush."""
        self._stopping = True
        if self._server is not None:
            self._server.close()
        for conn in list(self._connections.values()):
            if not conn.busy:
                conn.task.cancel()
        tasks = [c.task for c in self._connections.values()]
        if tasks:
            await asyncio.wait(tasks, timeout=self._config.shutdown_grace)
        if self._bridge is not None:
            self._bridge.close(self._config.shutdown_grace)
        if self._follower is not None:
            await asyncio.to_thread(self._follower.close)
        log.info("HL7 listener stopped")

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = _peer(writer)
        task = asyncio.current_task()
        if refusal := self._refusal(writer):
            log.warning("refusing connection from %s: %s", peer, refusal.replace("_", " "))
            REFUSED.labels(refusal).inc()
            writer.close()
            return
        conn = self._connections[task] = _Connection(task)
        CONNECTIONS.inc()
        frames = FrameReader(
            reader, self._config.max_message_bytes, self._config.idle_timeout, self._config.frame_deadline
        )
        try:
            await self._converse(frames, writer, conn, peer)
        except asyncio.CancelledError:
            log.debug("closing idle connection from %s at shutdown", peer)
        except (ConnectionError, OSError, TimeoutError) as exc:
            log.info("connection from %s lost: %s", peer, type(exc).__name__)
        except DeadLetterFailedError as exc:
            log.error("closing connection: %s", exc)
        except Exception as exc:  # a bug: drop this connection, keep serving; the type only (values may identify)
            log.error("connection from %s failed: %s", peer, type(exc).__name__)
        finally:
            for later in list(conn.later):  # the sender is gone: no one to tell the verdict to
                later.cancel()
                APPLICATION_ACKS.labels("dropped").inc()
            SKIPPED.inc(frames.skipped)
            CONNECTIONS.dec()
            del self._connections[task]
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 5)

    def _refusal(self, writer: asyncio.StreamWriter) -> str | None:
        """Why a new connection is closed unread, or None to serve it."""
        if self._stopping:
            return "stopping"
        if len(self._connections) >= self._config.max_connections:
            return "too_many"
        address = writer.get_extra_info("peername")
        if not self._config.sources.allows_peer(str(address[0]) if isinstance(address, tuple) else ""):
            return "not_allowed"
        return None

    async def _converse(self, frames: FrameReader, writer, conn: _Connection, peer: str) -> None:
        while not self._stopping:
            try:
                item = await frames.next()
            except FrameTimeout as exc:
                log.warning("closing connection from %s: %s", peer, exc)
                await self._truncated(Truncated(exc.partial), peer)
                return
            except IdleTimeout as exc:
                if conn.later:  # the sender is waiting for an application ACK: not idle
                    continue
                log.info("closing connection from %s: %s", peer, exc)
                return
            if item is None:
                return
            conn.busy = True
            try:
                if isinstance(item, Truncated):
                    await self._truncated(item, peer)
                    continue
                started = time.monotonic()
                if isinstance(item, Oversized):
                    answer = Answer(await self._oversized(item, peer))
                else:
                    answer = await self.handle(item.payload, peer)
                if answer.verdict is not None:
                    # a task of the connection's from now on (cancelled with it, so nothing keeps waiting); it
                    # writes after this ACK: it queues for the lock behind us (asyncio's lock is first come,
                    # first served) or finds it held, since nothing yields before we take it
                    later = asyncio.create_task(self._write_later(conn, writer, answer.verdict, started, peer))
                    conn.later.add(later)
                    later.add_done_callback(conn.later.discard)
                async with conn.lock:
                    if answer.ack is not None:
                        writer.write(frame(answer.ack))
                        await asyncio.wait_for(writer.drain(), self._config.idle_timeout)
                        ACK_SECONDS.observe(time.monotonic() - started)
                if isinstance(item, Oversized):
                    return
            finally:
                conn.busy = False

    async def handle(self, payload: bytes, peer: str) -> Answer:
        """One message -> its acknowledgement (without framing), after Kafka acknowledged what it had to,
        and in enhanced mode the application acknowledgement to come."""
        received = datetime.now(UTC)
        try:
            # decoding and mapping a large message takes CPU-seconds: off the event loop, so that every
            # other connection keeps being served meanwhile
            decoded = await asyncio.to_thread(decode_message, payload)
        except DecodeError as exc:
            return Answer(await self._reject(payload, exc, exc.header, peer, "AR"))
        header, label = decoded.header, _type_label(decoded.header)
        if header.component(9, 1) == "ACK":  # the sender acknowledging one of ours: never answered
            ACKS_RECEIVED.inc()
            return Answer(None)
        try:
            modes = ack_modes(header)
        except AckModeError as exc:  # which acknowledgements to send is unknown: the original-mode refusal
            return Answer(await self._reject(payload, exc, header, peer, "AR"))
        try:
            self._config.sources.check_facility(header)
        except UnknownSourceError as exc:
            return await self._refuse(payload, exc, header, peer, "AR", modes)
        try:
            values = await asyncio.to_thread(self._encoded_events, decoded.message, received)
        except MappingError as exc:
            return await self._refuse(payload, exc, header, peer, "AE", modes)
        except Exception as exc:  # a bug, not the sender's fault; log the type only (values may identify)
            log.error("mapping failed with %s (message type %s from %s)", type(exc).__name__, label, peer)
            error = MappingError(f"internal error while mapping ({type(exc).__name__})", APPLICATION_INTERNAL_ERROR)
            return await self._refuse(payload, error, header, peer, "AE", modes)
        event_ids = [event_id for event_id, _, _ in values]
        waits = modes.wants_verdict or (not modes.enhanced and self._config.ack_wait > 0)
        # registered before the events are sent: the verdict cannot arrive before someone waits for it
        futures = self._board.expect(event_ids) if waits else []
        try:
            await asyncio.gather(*(self._bridge.deliver(self._events_topic, k, v) for _, k, v in values))
        except RefusedEventError as exc:
            # an ordered RIS would resend it forever: refuse it, keep a copy, and move on
            self._board.forget(event_ids, futures)
            return await self._refuse(payload, exc, header, peer, "AR", modes)
        except DeliveryError as exc:
            self._board.forget(event_ids, futures)
            log.error("message %s from %s: %s", header.control_id[:20], peer, exc.reason)
            return Answer(self._answer(header, label, "AE", modes, exc))
        except asyncio.CancelledError:  # the connection is closing: nobody will wait for these verdicts
            self._board.forget(event_ids, futures)
            raise
        if not modes.enhanced and futures:
            waited = await self._application.original_ack(header, event_ids, futures)
            if waited is not None:
                MESSAGES.labels(label, waited[0]).inc()
                return Answer(waited[1])
        if not modes.enhanced:
            return Answer(self._answer(header, label, "AA", modes))  # the verdict was late, or not waited for
        verdict = self._application.application_ack(header, modes, event_ids, futures) if futures else None
        return Answer(self._answer(header, label, "AA", modes), verdict)

    def _answer(
        self, header: MshHeader, label: str, code: str, modes: AckModes, error: Hl7Error | None = None
    ) -> bytes | None:
        """The ACK for ``code`` (AA/AE/AR), as a commit code in enhanced mode, or None if MSH-15 says none."""
        if not modes.enhanced:
            MESSAGES.labels(label, code).inc()
            return build_ack(header, code, error)
        commit = _COMMIT[code]
        if not modes.sends_commit(code == "AA"):
            MESSAGES.labels(label, "none").inc()
            return None
        MESSAGES.labels(label, commit).inc()
        return build_ack(header, commit, error, enhanced=True)

    async def _refuse(
        self, payload: bytes, exc: Hl7Error, header: MshHeader, peer: str, code: str, modes: AckModes
    ) -> Answer:
        """Dead-letter a message refused in either mode, then answer AE/AR (CE/CR) if it asked for that."""
        if not modes.enhanced:
            return Answer(await self._reject(payload, exc, header, peer, code))
        await self._reject(payload, exc, header, peer, code, counted=False)
        return Answer(self._answer(header, _type_label(header), code, modes, exc))

    async def _write_later(
        self, conn: _Connection, writer: asyncio.StreamWriter, verdict: Awaitable[bytes | None], started: float, peer
    ) -> None:
        ack = await verdict
        if ack is None:
            return
        async with conn.lock:
            try:
                writer.write(frame(ack))
                await asyncio.wait_for(writer.drain(), self._config.idle_timeout)
            except (ConnectionError, OSError, TimeoutError) as exc:
                APPLICATION_ACKS.labels("dropped").inc()
                log.info("application ACK to %s not written: %s", peer, type(exc).__name__)
                return
        VERDICT_SECONDS.observe(time.monotonic() - started)

    def _encoded_events(self, message, received: datetime) -> list[tuple[str, bytes, bytes]]:
        events = map_message(message, received)
        return [(e["event_id"], event_key(e).encode(), self._catalog.encode(EXAMINATION_EVENT, e)) for e in events]

    async def _reject(
        self,
        payload: bytes,
        exc: Hl7Error,
        header: MshHeader | None,
        peer: str,
        code: str,
        size: int | None = None,
        counted: bool = True,
    ) -> bytes:
        """Dead-letter the message, then answer AE/AR. If the copy cannot be written there is no answer:
        ``DeadLetterFailed`` drops the connection and the sender still holds the message."""
        label = _type_label(header)
        control = header.control_id[:20] if header else ""
        log.warning("%s for message %r (%s) from %s: %s", code, control, label, peer, exc.reason)
        if not await self._dead_letter(payload, exc, header, peer, size):
            raise DeadLetterFailedError(f"the dead-letter copy of a message from {peer} was not stored: no {code} sent")
        if counted:
            MESSAGES.labels(label, code).inc()
        return build_ack(header, code, exc)

    async def _oversized(self, item: Oversized, peer: str) -> bytes:
        header = read_header(item.prefix)
        limit = self._config.max_message_bytes
        exc = OversizedError(f"message larger than {limit} bytes: connection closed", header)
        return await self._reject(item.prefix, exc, header, peer, "AR", item.size)

    async def _truncated(self, item: Truncated, peer: str) -> None:
        header = read_header(item.payload)
        exc = TruncatedFrameError(f"frame cut off after {len(item.payload)} bytes (no end block)")
        log.warning("truncated frame from %s: %d bytes dead-lettered", peer, len(item.payload))
        await self._dead_letter(item.payload, exc, header, peer)
        MESSAGES.labels(_type_label(header), "none").inc()

    async def _dead_letter(
        self, payload: bytes, exc: Hl7Error, header: MshHeader | None, peer: str, size: int | None = None
    ) -> bool:
        """Raw bytes (capped) to dids.dlq; ``size`` is the size received when ``payload`` is only a prefix."""
        control = header.control_id[:64] if header else ""
        headers = [
            ("dids.error", exc.kind.encode()),
            ("dids.error.message", exc.reason[:1000].encode()),
            ("dids.source", b"hl7"),
            ("dids.peer", peer.encode()),
            ("dids.hl7.type", _type_label(header).encode()),
            ("dids.hl7.control_id", control.encode("latin-1", "replace")),
            ("dids.hl7.bytes", str(len(payload) if size is None else size).encode()),
        ]
        try:
            await self._bridge.deliver(
                self._dlq_topic, control.encode("latin-1", "replace"), payload[:DLQ_MAX_BYTES], headers
            )
        except DeliveryError as err:
            log.error("dead-letter write failed for a message from %s: %s", peer, err.reason)
            return False
        return True


def _type_label(header: MshHeader | None) -> str:
    """A bounded metric label: the supported types, ``other`` or ``unknown`` (no MSH)."""
    if header is None:
        return "unknown"
    kind = header.message_type
    return kind if kind in SUPPORTED_TYPES else "other"


def _peer(writer: asyncio.StreamWriter) -> str:
    peer = writer.get_extra_info("peername")
    return f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) and len(peer) >= 2 else str(peer)


def run_listener(settings: Settings, config: ListenerConfig, metrics_port: int) -> None:
    """Create topics, serve until SIGTERM/SIGINT, then shut down gracefully."""
    from dids.kernel.topics import ensure_topics

    _silence_library_logs()
    ensure_topics(settings)
    asyncio.run(_serve_until_signalled(settings, config, metrics_port))


async def _serve_until_signalled(settings: Settings, config: ListenerConfig, metrics_port: int) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    listener = Hl7Listener(settings, config)
    await listener.start()
    serve_metrics(metrics_port, settings.metrics_host)  # after the bind: /metrics up means ready
    await stop.wait()
    log.info("stopping: no new connections, finishing in-flight messages")
    await listener.stop()


def _silence_library_logs() -> None:
    """The hl7 library logs field values when it meets bad escape sequences: values may identify
    a patient, so its loggers (named after its files) are switched off."""
    import hl7.containers
    import hl7.util

    for module in (hl7.util, hl7.containers):
        logging.getLogger(module.__file__).disabled = True
