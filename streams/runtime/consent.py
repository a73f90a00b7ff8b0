"""Withdrawn consent (DID-specific objections, DIDS-SPEC §7.9), applied at collection.

The list lives on the compacted topic ``dids.consent``: key = person id (the keyed hash of the NHS
number, ``dids.kernel.pseudonyms``), value = a ``consent_change`` record; a tombstone also means "no longer
withdrawn". ``ConsentRegistry`` reads the whole topic at every start into an in-memory set and keeps
following it; the stream processor asks ``is_withdrawn(person_id)`` and drops the record when it is.
``producers.consent.publish_withdrawals`` is what the ``dids consent`` command calls to change it.

Only hashes are held, logged or published here. A log line names topic, partition and offset, never a key.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition
from prometheus_client import Counter, Gauge

from dids.kernel.consent import REINSTATED, WITHDRAWN, ConsentError
from dids.kernel.kafka import client_config
from dids.kernel.pseudonyms import is_person_id
from dids.kernel.settings import Settings
from dids.kernel.topics import CONSENT
from schemas.catalog import CONSENT_CHANGE, Catalog, default_catalog
from schemas.codec import CodecError

log = logging.getLogger(__name__)


# a topic created a moment ago may not be in the metadata yet; a topic missing for longer is an error
_MISSING_TOPIC_GRACE = 5.0

WITHDRAWN_PERSONS = Gauge("dids_consent_withdrawn_persons", "Persons whose consent is withdrawn (registry size)")
CONSENT_ERRORS = Counter("dids_consent_errors_total", "Consent-topic messages skipped because they are unusable")


class _UnusableMessage(ValueError):
    """A consent message that decodes but cannot be applied; the message never quotes its content."""


class ConsentRegistry:
    """The set of withdrawn person ids, rebuilt from the start of the consent topic and kept current.

    No consumer-group offsets: every partition is *assigned* from the beginning, so each process holds the
    whole list whatever partitions it processes. Call ``start()``, then ``wait_until_caught_up()`` before
    trusting ``is_withdrawn`` (before that, only part of the list may be loaded).
    """

    def __init__(self, settings: Settings, *, catalog: Catalog | None = None, poll_seconds: float = 0.2):
        self._settings = settings
        self._topic = settings.topic(CONSENT)
        self._catalog = catalog or default_catalog()
        self._poll_seconds = poll_seconds
        self._withdrawn: set[str] = set()
        self._new: dict[str, None] = {}  # withdrawn since the last take_new_withdrawals(), in order
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._caught_up = threading.Event()
        self._pending: dict[int, int] = {}  # partition -> high watermark seen at start, until reached
        self._consumer: Consumer | None = None
        self._thread: threading.Thread | None = None
        self.errors = 0  # messages skipped by this registry (the metric counts every registry in the process)
        self.failure: str | None = None  # set when the reader thread stopped on a fatal error

    # ---- lifecycle ----

    def start(self, timeout: float = 30.0) -> ConsentRegistry:
        """Assign every partition from the beginning and start the reader thread.

        Raises ConsentError when the topic does not exist (create it with ``dids streams`` / ``dids up``).
        """
        if self._thread is not None:
            raise ConsentError("this ConsentRegistry was already started")
        consumer = Consumer(
            client_config(
                self._settings,
                **{
                    # required by the client, never used: nothing is committed, the list is re-read at start
                    "group.id": f"{self._settings.streams_app_id}-consent-{uuid.uuid4().hex[:8]}",
                    "enable.auto.commit": False,
                    "enable.auto.offset.store": False,
                    "enable.partition.eof": True,
                    "auto.offset.reset": "earliest",
                    "logger": logging.getLogger("dids.kafka"),
                },
            )
        )
        try:
            ends = self._end_offsets(consumer, timeout)
            consumer.assign([TopicPartition(self._topic, p, OFFSET_BEGINNING) for p in ends])
        except BaseException:
            consumer.close()
            raise
        self._pending = {p: high for p, (low, high) in ends.items() if high > low}
        self._consumer = consumer
        if not self._pending:
            self._caught_up.set()
        log.info(
            "consent registry reading %s (%d partitions, %d to catch up)", self._topic, len(ends), len(self._pending)
        )
        self._thread = threading.Thread(target=self._run, name="dids-consent", daemon=True)
        self._thread.start()
        return self

    def _end_offsets(self, consumer: Consumer, timeout: float) -> dict[int, tuple[int, int]]:
        """partition -> (low, high) watermarks, retried while a new topic's partition leaders settle."""
        started = time.monotonic()
        deadline = started + timeout
        reason = "no answer"
        while True:
            remaining = max(0.5, deadline - time.monotonic())
            try:
                meta = consumer.list_topics(self._topic, timeout=remaining).topics.get(self._topic)
                if meta is not None and meta.error is None and meta.partitions:
                    return {
                        p: consumer.get_watermark_offsets(TopicPartition(self._topic, p), timeout=remaining)
                        for p in sorted(meta.partitions)
                    }
                missing = meta is None or meta.error is None or meta.error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART
                reason = "no such topic" if missing else meta.error.str()
                if missing and time.monotonic() - started > _MISSING_TOPIC_GRACE:
                    break
            except KafkaException as exc:  # leader not elected yet, broker not reachable yet...
                reason = exc.args[0].str() if exc.args and isinstance(exc.args[0], KafkaError) else str(exc)
            if time.monotonic() >= deadline:
                break
            time.sleep(0.2)
        raise ConsentError(
            f"consent topic {self._topic} at {self._settings.kafka_bootstrap} is not usable ({reason}): "
            "is Kafka up, and were the topics created (dids streams / dids up create them)?"
        )

    def wait_until_caught_up(self, timeout: float) -> bool:
        """True once the list has been read up to the end offsets seen at ``start`` (bounded wait).

        False at the deadline, or as soon as the reader thread has failed (see ``failure``).
        """
        deadline = time.monotonic() + timeout
        while not self._caught_up.wait(min(0.1, max(0.0, deadline - time.monotonic()))):
            if self.failure is not None or time.monotonic() >= deadline:
                return False
        return True

    @property
    def caught_up(self) -> bool:
        return self._caught_up.is_set()

    @property
    def healthy(self) -> bool:
        """The reader thread runs and has not failed: the stream must stop trusting the list otherwise."""
        return self._thread is not None and self._thread.is_alive() and self.failure is None

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def __enter__(self) -> ConsentRegistry:
        return self if self._thread is not None else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- queries ----

    def is_withdrawn(self, person_id: str | None) -> bool:
        if person_id is None:
            return False
        with self._lock:
            return person_id in self._withdrawn

    def take_new_withdrawals(self, limit: int = 1000) -> list[str]:
        """Up to ``limit`` persons withdrawn since the last call (the whole list at first: it is replayed
        at start), for the stream worker to erase their lifecycle states (streams.erasure)."""
        with self._lock:
            taken = [p for _, p in zip(range(limit), self._new, strict=False)]
            for person_id in taken:
                del self._new[person_id]
            return [p for p in taken if p in self._withdrawn]

    def requeue_all(self) -> None:
        """Offer every withdrawn person again (the worker was given other partitions to erase in)."""
        with self._lock:
            self._new.update(dict.fromkeys(self._withdrawn))

    def __len__(self) -> int:
        with self._lock:
            return len(self._withdrawn)

    # ---- the reader thread ----

    def _run(self) -> None:
        consumer = self._consumer
        assert consumer is not None
        try:
            while not self._stop.is_set():
                for msg in consumer.consume(num_messages=500, timeout=self._poll_seconds):
                    self._handle(msg)
        except Exception as exc:  # a bug or a closed client: say so, the stream must not trust a dead registry
            self.failure = f"{type(exc).__name__}: {exc}"
            log.exception("consent registry on %s stopped", self._topic)
        finally:
            consumer.close()

    def _handle(self, msg) -> None:
        err = msg.error()
        if err is not None:
            if err.code() == KafkaError._PARTITION_EOF:
                # end of the log now, so past the end seen at start (even if compaction removed the last offsets)
                self._reached(msg.partition(), None)
                return
            if err.fatal():
                raise ConsentError(f"fatal consumer error on {self._topic}: {err.str()}")
            log.warning("consent registry: consumer error on %s: %s", self._topic, err.str())
            return
        try:
            self._apply(msg.key(), msg.value())
        except Exception as exc:  # one bad message must not stop the list: skip it, count it, say where
            self.errors += 1
            CONSENT_ERRORS.inc()
            # our own messages name no key and no value; anything else is shown by its type only
            reason = str(exc) if isinstance(exc, CodecError | _UnusableMessage) else type(exc).__name__
            log.error(
                "consent registry: skipped unusable message at %s[%d]@%d: %s",
                msg.topic(),
                msg.partition(),
                msg.offset(),
                reason,
            )
        self._reached(msg.partition(), msg.offset() + 1)

    def _apply(self, key: bytes | None, value: bytes | None) -> None:
        person_id = key.decode("ascii", errors="replace") if key is not None else None
        if value is None:  # tombstone: no longer withdrawn
            if not is_person_id(person_id):
                raise _UnusableMessage("tombstone whose key is not a person id (64 hex characters)")
            self._update(person_id, withdrawn=False)
            return
        change = self._catalog.decode(value, CONSENT_CHANGE)
        if not is_person_id(change["person_id"]):
            raise _UnusableMessage("person_id is not a keyed hash (64 hex characters); NHS numbers must never be sent")
        if person_id is not None and person_id != change["person_id"]:
            raise _UnusableMessage("message key differs from person_id: compaction would keep the wrong change")
        if change["status"] not in (WITHDRAWN, REINSTATED):
            raise _UnusableMessage(f"status is neither {WITHDRAWN} nor {REINSTATED}")
        self._update(change["person_id"], withdrawn=change["status"] == WITHDRAWN)

    def _update(self, person_id: str, *, withdrawn: bool) -> None:
        with self._lock:
            if withdrawn:
                self._withdrawn.add(person_id)
                self._new[person_id] = None
            else:
                self._withdrawn.discard(person_id)
            WITHDRAWN_PERSONS.set(len(self._withdrawn))

    def _reached(self, partition: int, next_offset: int | None) -> None:
        """Partition read up to ``next_offset`` (None: to its end)."""
        target = self._pending.get(partition)
        if target is None or (next_offset is not None and next_offset < target):
            return
        del self._pending[partition]
        if not self._pending:
            log.info("consent registry caught up: %d withdrawn persons", len(self))
            self._caught_up.set()
