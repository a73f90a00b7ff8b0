"""The listener's side of the feedback loop: verdicts read from ``dids.feedback``, handed to whoever
waits for an event id (an application acknowledgement, or an original-mode ACK told to wait).

``FeedbackFollower`` is a consumer thread reading every partition of the feedback topic from its end
as it was when the listener started (nothing is committed: a restarted listener has no waiter for an
older verdict, and the sender resends what it got no acknowledgement for). Each message is checked
before it is used, since it ends up in an acknowledgement: written with the ``examination_feedback``
schema this release knows (an unknown writer schema, with extra fields say, is refused whole), a known
verdict and severity, rule codes of the form ``DIDSnnn``, item names of the 18, bounded text. A message
that fails is counted and logged by offset, never by content; a verdict for an event nobody waits for is
counted and dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, KafkaException, TopicPartition
from prometheus_client import Counter, Gauge

from dids.kernel import topics
from dids.kernel.errors import DidsError
from dids.kernel.items import ITEM_NAMES
from dids.kernel.kafka import client_config
from dids.kernel.settings import Settings
from schemas.catalog import EXAMINATION_FEEDBACK, Catalog, default_catalog
from schemas.codec import CodecError

log = logging.getLogger(__name__)

FEEDBACK_IN = Counter(
    "dids_hl7_feedback_messages_total", "Verdicts read from the feedback topic, by outcome", ["outcome"]
)  # outcome: matched (someone waited), unknown (no waiter: another listener's, or answered already), malformed
WAITING = Gauge("dids_hl7_verdicts_waited", "Events whose verdict a connection is waiting for")
for _outcome in ("matched", "unknown", "malformed"):
    FEEDBACK_IN.labels(_outcome)

VERDICTS = frozenset({"accepted", "rejected", "pending", "cancelled", "withdrawn", "stale"})
SEVERITIES = frozenset({"error", "warning"})
_CODE = re.compile(r"DIDS\d{3}")
_MAX_ID, _MAX_TEXT, _MAX_FAILURES = 100, 300, 100


class MalformedFeedbackError(ValueError):
    """A feedback message this listener will not use; the reason names the part, never its value."""


@dataclass(frozen=True)
class Failure:
    code: str
    severity: str  # error | warning
    fields: tuple[str, ...]  # item names
    description: str


@dataclass(frozen=True)
class Feedback:
    event_id: str
    verdict: str
    duplicate: bool
    failures: tuple[Failure, ...]

    @property
    def rejected(self) -> bool:
        return any(f.severity == "error" for f in self.failures)


def read_feedback(catalog: Catalog, value: bytes | None) -> Feedback:
    """A checked verdict from the bytes of one feedback message, or ``MalformedFeedbackError``."""
    if not value:
        raise MalformedFeedbackError("empty message")
    try:
        if catalog.writer_name(value) != EXAMINATION_FEEDBACK:
            raise MalformedFeedbackError("written with another schema than examination_feedback")
        record: dict[str, Any] = catalog.decode(value, EXAMINATION_FEEDBACK)
    except CodecError as exc:
        raise MalformedFeedbackError(f"not an examination_feedback message ({type(exc).__name__})") from None
    event_id, verdict = record["event_id"], record["verdict"]
    if not 0 < len(event_id) <= _MAX_ID:
        raise MalformedFeedbackError("event_id empty or too long")
    if verdict not in VERDICTS:
        raise MalformedFeedbackError("unknown verdict")
    if len(record["failures"]) > _MAX_FAILURES:
        raise MalformedFeedbackError("too many failures")
    failures = []
    for failure in record["failures"]:
        if not _CODE.fullmatch(failure["code"]):
            raise MalformedFeedbackError("a failure's code is not a DIDS rule code")
        if failure["severity"] not in SEVERITIES:
            raise MalformedFeedbackError("a failure's severity is not error or warning")
        if any(name not in ITEM_NAMES for name in failure["fields"]) or len(failure["fields"]) > len(ITEM_NAMES):
            raise MalformedFeedbackError("a failure names something that is not a DIDS item")
        if len(failure["description"]) > _MAX_TEXT:
            raise MalformedFeedbackError("a failure's description is too long")
        failures.append(Failure(failure["code"], failure["severity"], tuple(failure["fields"]), failure["description"]))
    return Feedback(event_id, verdict, bool(record["duplicate"]), tuple(failures))


class VerdictBoard:
    """Event id -> the futures waiting for its verdict. Used on the event loop only."""

    def __init__(self) -> None:
        self._waiting: dict[str, list[asyncio.Future]] = {}

    def expect(self, event_ids: list[str]) -> list[asyncio.Future]:
        """Futures for these events' verdicts; register them before the events are sent."""
        loop = asyncio.get_running_loop()
        futures = []
        for event_id in event_ids:
            future = loop.create_future()
            self._waiting.setdefault(event_id, []).append(future)
            futures.append(future)
        WAITING.set(self.size)
        return futures

    def forget(self, event_ids: list[str], futures: list[asyncio.Future]) -> None:
        """Stop waiting: ``futures`` as ``expect`` gave them for ``event_ids`` (none when nothing waited)."""
        for event_id, future in zip(event_ids, futures, strict=False):
            waiters = self._waiting.get(event_id, [])
            with contextlib.suppress(ValueError):
                waiters.remove(future)
            if not waiters:
                self._waiting.pop(event_id, None)
            future.cancel()
        WAITING.set(self.size)

    def settle(self, feedback: Feedback) -> None:
        waiters = self._waiting.pop(feedback.event_id, [])
        live = [f for f in waiters if not f.done()]
        for future in live:
            future.set_result(feedback)
        FEEDBACK_IN.labels("matched" if live else "unknown").inc()
        WAITING.set(self.size)

    @property
    def size(self) -> int:
        return sum(len(w) for w in self._waiting.values())


class FeedbackFollower:
    """The consumer thread: every partition of the feedback topic, from its end at start-up."""

    def __init__(self, settings: Settings, board: VerdictBoard, loop: asyncio.AbstractEventLoop) -> None:
        self._topic = settings.topic(topics.FEEDBACK)
        self._partitions = settings.topic_partitions
        # a group id is required by the client; nothing is ever committed under it
        config = client_config(
            settings,
            **{
                "group.id": f"dids-hl7-{uuid.uuid4().hex[:12]}",
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "fetch.wait.max.ms": 20,
            },
        )
        self._consumer = Consumer(config)
        self._board, self._loop = board, loop
        self._catalog = default_catalog()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="hl7-feedback", daemon=True)

    def start(self, timeout: float = 30.0) -> None:
        """Position at the end of every partition (blocking), then follow in the thread: a verdict written
        after this returns is seen."""
        deadline = time.monotonic() + timeout
        positions = [self._end(partition, deadline) for partition in range(self._partitions)]
        self._consumer.assign(positions)
        self._thread.start()

    def _end(self, partition: int, deadline: float) -> TopicPartition:
        """The partition at its end now; retried while the broker is not ready (a topic just created has
        no leader for a moment)."""
        while True:
            try:
                _low, high = self._consumer.get_watermark_offsets(
                    TopicPartition(self._topic, partition), timeout=max(1.0, deadline - time.monotonic())
                )
                return TopicPartition(self._topic, partition, high)
            except KafkaException as exc:
                if time.monotonic() >= deadline:
                    raise DidsError(
                        f"cannot read topic {self._topic} ({exc.args[0].str()}): the HL7 listener follows it for "
                        "the stream's verdicts; give its Kafka account read access (and check DIDS_KAFKA_BOOTSTRAP)"
                    ) from None
                time.sleep(0.2)

    def _follow(self) -> None:
        while not self._stop.is_set():
            msg = self._consumer.poll(0.2)
            if msg is None:
                continue
            if msg.error():
                log.warning("feedback topic: %s", msg.error().str())
                continue
            try:
                feedback = read_feedback(self._catalog, msg.value())
            except Exception as exc:  # malformed, or a decoder bug: the type or our reason only, never content
                reason = str(exc) if isinstance(exc, MalformedFeedbackError) else type(exc).__name__
                FEEDBACK_IN.labels("malformed").inc()
                log.warning("ignored feedback %s[%d]@%d: %s", msg.topic(), msg.partition(), msg.offset(), reason)
                continue
            with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits any more
                self._loop.call_soon_threadsafe(self._board.settle, feedback)

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._consumer.close()
