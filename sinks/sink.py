"""The ClickHouse sink: dids.examinations, dids.rejects, dids.submissions and dids.consent into their tables,
exactly once.

How nothing is lost or doubled:
* offsets are committed only after ClickHouse acknowledged the insert;
* each insert carries a deterministic ``insert_deduplication_token`` (topic, partition, first and
  last offset), so a retried batch is a no-op in ClickHouse;
* on (re)assignment the sink seeks past the offsets already present in the table, so a crash
  between insert and commit does not insert the same messages again under other batch bounds;
* rows are versioned: ReplacingMergeTree(version) keeps the latest version of each examination.
While ClickHouse is unreachable the sink keeps its batch, retries with backoff and reads nothing
more (bounded memory); it never skips a batch.
"""

from __future__ import annotations

import contextlib
import logging
import re
import struct
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

from confluent_kafka import OFFSET_INVALID, Consumer, KafkaError, TopicPartition
from prometheus_client import Counter, Gauge, Histogram

from dids.kernel import topics
from dids.kernel.dead_letters import DeadLetter
from dids.kernel.errors import DidsError
from dids.kernel.kafka import client_config
from dids.kernel.metrics import LATENCY_BUCKETS
from dids.kernel.producer import EventProducer
from dids.kernel.pseudonyms import is_person_id
from dids.kernel.settings import Settings
from schemas.catalog import (
    CONSENT_CHANGE,
    EXAMINATION_RECORD,
    EXAMINATION_REJECT,
    SUBMISSION_MANIFEST,
    Catalog,
    default_catalog,
)
from schemas.codec import CodecError
from sinks.clickhouse import DatabaseError, DataError, OperationalError, connect

log = logging.getLogger(__name__)

ROWS = Counter("dids_sink_rows_total", "Rows inserted into ClickHouse", ["table"])
BATCHES = Counter("dids_sink_batches_total", "Batches inserted into ClickHouse", ["table"])
ERRORS = Counter("dids_sink_errors_total", "Sink errors", ["kind"])
DEAD_LETTERS = Counter("dids_sink_dead_letters_total", "Undecodable messages sent to the dead-letter topic")
INSERT_SECONDS = Histogram("dids_sink_insert_seconds", "ClickHouse insert latency", buckets=LATENCY_BUCKETS)
FRESHNESS = Histogram(
    "dids_sink_freshness_seconds", "Now minus RIS event time when the row was inserted", buckets=LATENCY_BUCKETS
)
LAG = Gauge("dids_sink_consumer_lag", "Messages not yet consumed", ["group", "topic", "partition"])
LAST_INSERT = Gauge("dids_sink_last_insert_timestamp_seconds", "Unix time of the last successful ClickHouse insert")
FAILING = Gauge("dids_sink_failing", "1 while a batch cannot be inserted and is being retried, else 0")
for _kind in ("insert", "consume"):  # exported at 0 from the start, so rate() sees the first failure
    ERRORS.labels(_kind)


@dataclass(frozen=True)
class Route:
    """One topic into one table: Avro records of ``schema`` become rows of ``table``."""

    topic: str
    table: str
    schema: str


CONSENT_TABLE = "consent_changes"


def routes(settings: Settings) -> list[Route]:
    return [
        Route(settings.topic(topics.EXAMINATIONS), "examinations", EXAMINATION_RECORD),
        Route(settings.topic(topics.REJECTS), "rejects", EXAMINATION_REJECT),
        Route(settings.topic(topics.SUBMISSIONS), "submissions", SUBMISSION_MANIFEST),
        # the views hide a withdrawn person's stored records as soon as the change is in (migration 0009)
        Route(settings.topic(topics.CONSENT), CONSENT_TABLE, CONSENT_CHANGE),
    ]


def consent_record(key: bytes | None, record: dict[str, Any] | None, timestamp_ms: int) -> dict[str, Any]:
    """A consent change as a row, checked the way the stream's registry checks it: only keyed hashes are
    stored, so a message carrying anything else (an NHS number in clear) is refused, never inserted."""
    person_id = (key or b"").decode("ascii", errors="replace")
    if record is None:  # a tombstone: no longer withdrawn
        record = {"person_id": person_id, "status": "reinstated", "created_date": None}
        record["processed_time"] = datetime.fromtimestamp(timestamp_ms / 1000, tz=timezone.utc)
    if not is_person_id(record["person_id"]) or person_id != record["person_id"]:
        raise BadRowError("consent change whose key and person_id are not the same keyed hash (64 hex characters)")
    if record["status"] not in ("withdrawn", "reinstated"):
        raise BadRowError("consent change whose status is neither withdrawn nor reinstated")
    return record


@dataclass(frozen=True)
class TableShape:
    """The columns the sink fills (DESCRIBE TABLE minus DEFAULT/MATERIALIZED ones) and which hold dates."""

    columns: list[str]
    date_columns: frozenset[str]

    @classmethod
    def describe(cls, client, table: str) -> TableShape:
        rows = client.query(f"DESCRIBE TABLE {table}").result_rows
        columns = [r[0] for r in rows if not r[2]]  # r[2] = default_type
        dates = frozenset(r[0] for r in rows if not r[2] and "Date" in r[1] and "DateTime" not in r[1])
        return cls(columns, dates)

    def row(self, record: dict[str, Any], topic: str, partition: int, offset: int) -> list[Any]:
        values = dict(record)
        failures = values.pop("failures", None)
        if failures is not None:  # Nested columns of the rejects table
            values["failures.code"] = [f["code"] for f in failures]
            values["failures.severity"] = [f["severity"] for f in failures]
            values["failures.fields"] = [f["fields"] for f in failures]
        for column in self.date_columns:
            values[column] = _date_or_none(values.get(column), column)
        values.update(kafka_topic=topic, kafka_partition=partition, kafka_offset=offset)
        return [values.get(c) for c in self.columns]


class BadRowError(DidsError):
    """A decoded record that cannot become a row (a date column holding something else): dead-lettered."""


def _date_or_none(value: Any, column: str) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        # the reason names the column, never the value (it may be a patient's date)
        raise BadRowError(f"column {column}: not a CCYY-MM-DD date") from None


@dataclass
class _Pending:
    route: Route
    rows: list[list[Any]] = field(default_factory=list)
    # the messages behind ``rows`` (key, value, offset), for dead-lettering a row ClickHouse refuses
    sources: list[tuple[bytes | None, bytes | None, int]] = field(default_factory=list)
    first: int = -1
    last: int = -1


# ClickHouse's answers that are about the data, not the server: the same rows are refused every time
_DATA_ERROR_CODES = frozenset({6, 27, 38, 41, 43, 53, 69, 70, 72, 117, 131, 349})
_CLIENT_DATA_ERRORS = (ValueError, OverflowError, TypeError, struct.error)  # the rows cannot even be encoded
REFUSALS_BEFORE_SPLIT = 3  # a batch refused this often for its data is inserted row by row


def _data_error(exc: BaseException) -> bool:
    if isinstance(exc, OperationalError):
        return False
    if isinstance(exc, (DataError, *_CLIENT_DATA_ERRORS)):  # the client could not encode the rows
        return True
    code = re.search(r"\bCode: (\d+)", str(exc))
    return isinstance(exc, DatabaseError) and code is not None and int(code.group(1)) in _DATA_ERROR_CODES


class SinkStoppedError(DidsError):
    """The sink was asked to stop while a batch could not be inserted; its offsets stay uncommitted."""


class ClickHouseSink:
    def __init__(self, settings: Settings, *, catalog: Catalog | None = None):
        self.settings = settings
        self.catalog = catalog or default_catalog()
        self.routes = {r.topic: r for r in routes(settings)}
        self.dlq_topic = settings.topic(topics.DLQ)
        self.client = connect(settings)
        self.shapes = {r.table: TableShape.describe(self.client, r.table) for r in self.routes.values()}
        self.stop_event = threading.Event()
        self._pending: dict[tuple[str, int], _Pending] = {}
        self._first_pending_at: float | None = None
        self._dlq: EventProducer | None = None
        self._dlq_lock = threading.Lock()
        self._lag_updated = 0.0
        self._assigned = False
        self._failing_since: float | None = None
        # each topic-partition's batch is its own insert; the engine takes them side by side
        self._inserts = ThreadPoolExecutor(max_workers=4, thread_name_prefix="sink-insert")
        self.consumer = Consumer(
            client_config(
                settings,
                **{
                    "group.id": settings.sink_group,
                    "enable.auto.commit": False,
                    "auto.offset.reset": "earliest",
                    # a retry loop does not poll: ClickHouse may be away this long before the group moves on
                    "max.poll.interval.ms": 900_000,
                    # a killed sink's partitions move to another sink within seconds
                    "session.timeout.ms": 10_000,
                    "heartbeat.interval.ms": 3_000,
                    "fetch.max.bytes": 16 * 1024 * 1024,
                },
            )
        )

    # -- lifecycle -------------------------------------------------------------------------------

    def run(self) -> None:
        self.consumer.subscribe(list(self.routes), on_assign=self._on_assign, on_revoke=self._on_revoke)
        log.info("sink consuming %s into database %s", ", ".join(self.routes), self.settings.clickhouse_database)
        try:
            while not self.stop_event.is_set():
                room = max(1, self.settings.sink_batch_rows - self._pending_rows())
                for msg in self._next_messages(min(room, 2000)):
                    self._add(msg)
                if self._due():
                    self.flush()
                self._update_lag()
            self.flush()
        except SinkStoppedError as exc:
            log.warning("%s", exc)
        finally:
            self.consumer.close()  # may flush revoked partitions, with the insert threads
            self._inserts.shutdown()
            if self._dlq is not None:
                self._dlq.flush()

    def stop(self) -> None:
        self.stop_event.set()

    def readiness(self) -> tuple[bool, str]:
        """For /ready: in the consumer group and able to insert."""
        if self._failing_since is not None:
            return False, f"ClickHouse inserts failing for {time.monotonic() - self._failing_since:.0f}s"
        if not self._assigned:
            return False, "waiting for a partition assignment"
        return True, "ok"

    # -- batching --------------------------------------------------------------------------------

    def _add(self, msg) -> None:
        err = msg.error()
        if err is not None:
            if err.code() != KafkaError._PARTITION_EOF:
                ERRORS.labels("consume").inc()
                log.error("consume error: %s", err.str())
            return
        topic, partition, offset = msg.topic(), msg.partition(), msg.offset()
        route = self.routes[topic]
        pending = self._pending.setdefault((topic, partition), _Pending(route))
        if pending.first < 0:
            pending.first = offset
        pending.last = offset
        if self._first_pending_at is None:
            self._first_pending_at = time.monotonic()
        try:
            if route.table == CONSENT_TABLE:
                value = None if msg.value() is None else self.catalog.decode(msg.value(), route.schema)
                record = consent_record(msg.key(), value, msg.timestamp()[1])
            else:
                record = self.catalog.decode(msg.value(), route.schema)
            row = self.shapes[route.table].row(record, topic, partition, offset)
        except (CodecError, BadRowError) as exc:
            self._dead_letter(msg, exc)
            return
        pending.rows.append(row)
        pending.sources.append((msg.key(), msg.value(), offset))

    def _pending_rows(self) -> int:
        return sum(len(p.rows) for p in self._pending.values())

    def _next_messages(self, most: int) -> list:
        """Up to ``most`` messages. With nothing pending, return as soon as one arrives (with whatever
        else is already fetched), so the batch window starts when the first message does: a batch
        consume call waits out its whole timeout, which added up to 0.2 s to freshness. With a batch
        pending, wait at most until it is due."""
        if self._first_pending_at is None:
            first = self.consumer.poll(0.2)
            if first is None:
                return []
            return [first, *(self.consumer.consume(num_messages=most - 1, timeout=0) if most > 1 else [])]
        left = self._first_pending_at + self.settings.sink_batch_seconds - time.monotonic()
        return self.consumer.consume(num_messages=most, timeout=min(0.2, max(0.0, left)))

    def _due(self) -> bool:
        if self._first_pending_at is None:
            return False
        return (
            self._pending_rows() >= self.settings.sink_batch_rows
            or time.monotonic() - self._first_pending_at >= self.settings.sink_batch_seconds
        )

    def flush(self, only: set[tuple[str, int]] | None = None) -> None:
        """Insert pending rows (per topic-partition, each with its own token, in parallel), then
        commit their offsets. Nothing is committed unless every insert was acknowledged."""
        flushing = sorted((kv for kv in self._pending.items() if only is None or kv[0] in only), key=lambda kv: kv[0])
        if not flushing:
            return
        with_rows = [(key, pending) for key, pending in flushing if pending.rows]
        inserts = [
            self._inserts.submit(self._insert_batch, topic, partition, pending)
            for (topic, partition), pending in with_rows
        ]
        wait(inserts)
        for insert in inserts:
            insert.result()  # SinkStoppedError: stopping with a batch not inserted; nothing is committed
        for _, pending in with_rows:
            self._observe_freshness(pending)
        done = [TopicPartition(topic, partition, pending.last + 1) for (topic, partition), pending in flushing]
        self.consumer.commit(offsets=done, asynchronous=False)
        for tp in done:
            del self._pending[(tp.topic, tp.partition)]
        if not self._pending:
            self._first_pending_at = None

    def _observe_freshness(self, pending: _Pending) -> None:
        columns = self.shapes[pending.route.table].columns
        if "event_time" not in columns:  # submission manifests: no RIS event behind them
            return
        at = columns.index("event_time")
        now = datetime.now(timezone.utc)
        for row in pending.rows:
            FRESHNESS.observe(max(0.0, (now - row[at]).total_seconds()))

    def _insert_batch(self, topic: str, partition: int, pending: _Pending) -> None:
        """The batch in one insert; if ClickHouse refuses its data every time, row by row, and a row it
        still refuses goes to the dead-letter topic with the reason, so no partition blocks for good."""
        table = pending.route.table
        if self._insert_with_retry(table, pending.rows, f"{topic}:{partition}:{pending.first}-{pending.last}") is None:
            return
        log.warning(
            "%s[%d]: ClickHouse refuses the data of %d rows: inserting them one by one",
            topic,
            partition,
            len(pending.rows),
        )
        for row, (key, value, offset) in zip(pending.rows, pending.sources, strict=True):
            refusal = self._insert_with_retry(table, [row], f"{topic}:{partition}:{offset}-{offset}", refusals=1)
            if refusal is not None:
                self._dead_letter_message(topic, partition, offset, key, value, refusal)
        FAILING.set(0)  # the partition moves on: what ClickHouse refused is in the dead-letter topic
        self._failing_since = None

    def _insert_with_retry(
        self, table: str, rows: list[list[Any]], token: str, *, refusals: int = REFUSALS_BEFORE_SPLIT
    ) -> BaseException | None:
        """Insert ``rows``; retry while ClickHouse is away or busy, however long. None once inserted; the
        error once ClickHouse has refused their data ``refusals`` times (the caller splits the batch or
        dead-letters the row)."""
        delay = 0.5
        refused = 0
        while True:
            started = time.monotonic()
            try:
                self.client.insert(
                    table,
                    rows,
                    column_names=self.shapes[table].columns,
                    settings={"insert_deduplication_token": token},
                )
            except (OperationalError, DatabaseError, *_CLIENT_DATA_ERRORS) as exc:
                ERRORS.labels("insert").inc()
                if _data_error(exc):
                    refused += 1
                    if refused >= refusals:
                        return exc
                FAILING.set(1)
                if self._failing_since is None:
                    self._failing_since = time.monotonic()
                log.warning(
                    "insert of %d rows into %s failed (%s); retrying in %.1fs", len(rows), table, _short(exc), delay
                )
                if self.stop_event.wait(delay):
                    # stopping: leave the batch uncommitted, the next run inserts it (same token)
                    raise SinkStoppedError(f"stopped with {len(rows)} rows not inserted: {_short(exc)}") from exc
                delay = min(delay * 2, 10.0)
                continue
            INSERT_SECONDS.observe(time.monotonic() - started)
            LAST_INSERT.set_to_current_time()
            FAILING.set(0)
            self._failing_since = None
            ROWS.labels(table).inc(len(rows))
            BATCHES.labels(table).inc()
            return None

    # -- rebalancing -----------------------------------------------------------------------------

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Start each partition after whatever is already in ClickHouse or committed."""
        committed = {(tp.topic, tp.partition): tp.offset for tp in consumer.committed(partitions, timeout=30)}
        inserted = {}
        for topic in {tp.topic for tp in partitions}:
            for partition, offset in self._inserted_offsets(self.routes[topic]).items():
                inserted[(topic, partition)] = offset
        for tp in partitions:
            key = (tp.topic, tp.partition)
            start = committed.get(key, OFFSET_INVALID)
            if key in inserted and (start < 0 or inserted[key] + 1 > start):
                start = inserted[key] + 1
                log.info("%s[%d]: seeking to %d, after rows already in ClickHouse", tp.topic, tp.partition, start)
            tp.offset = start
        log.info("assigned %s", ", ".join(f"{tp.topic}[{tp.partition}]@{tp.offset}" for tp in partitions))
        consumer.assign(partitions)
        self._assigned = True

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # hand the partitions over with nothing half-done
        revoked = {(tp.topic, tp.partition) for tp in partitions}
        log.info("revoked %s", ", ".join(f"{t}[{p}]" for t, p in sorted(revoked)))
        for topic, partition in revoked:  # another sink reports these now
            with contextlib.suppress(KeyError):
                LAG.remove(self.settings.sink_group, topic, str(partition))
        try:
            self.flush(revoked)
        except SinkStoppedError as exc:  # stopping while ClickHouse is away: uncommitted, the next owner inserts
            log.warning("%s", exc)

    def _inserted_offsets(self, route: Route) -> dict[int, int]:
        while True:
            try:
                result = self.client.query(
                    f"SELECT kafka_partition, max(kafka_offset) FROM {route.table} "
                    "WHERE kafka_topic = {t:String} GROUP BY kafka_partition",
                    parameters={"t": route.topic},
                )
                return {int(p): int(o) for p, o in result.result_rows}
            except OperationalError as exc:
                log.warning("ClickHouse unavailable while assigning partitions (%s); retrying", _short(exc))
                time.sleep(1.0)

    def _update_lag(self) -> None:
        # The high watermarks come from the fetcher's own responses (cached=True): asking the broker
        # for every partition after every batch cost about a second per batch and starved the sink.
        now = time.monotonic()
        if now - self._lag_updated < 1.0:
            return
        self._lag_updated = now
        try:
            for tp in self.consumer.position(self.consumer.assignment()):
                _, high = self.consumer.get_watermark_offsets(tp, cached=True)
                if tp.offset >= 0 and high >= 0:
                    LAG.labels(self.settings.sink_group, tp.topic, str(tp.partition)).set(max(0, high - tp.offset))
        except Exception as exc:  # lag is best effort; never stop the sink for it
            log.debug("lag update failed: %s", exc)

    def _dead_letter(self, msg, exc: Exception) -> None:
        self._dead_letter_message(msg.topic(), msg.partition(), msg.offset(), msg.key(), msg.value(), exc)

    def _dead_letter_message(
        self, topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None, exc: BaseException
    ) -> None:
        DEAD_LETTERS.inc()
        with self._dlq_lock:  # insert threads dead-letter refused rows side by side
            if self._dlq is None:
                self._dlq = EventProducer(self.settings)
            headers = DeadLetter(type(exc).__name__, _short(exc)).headers(topic, partition, offset)
            self._dlq.send(self.dlq_topic, key=key or b"", value=value or b"", headers=headers)
            self._dlq.flush()  # before the offset can be committed
        log.warning("dead-lettered %s[%d]@%d: %s: %s", topic, partition, offset, type(exc).__name__, _short(exc))


def _short(exc: Exception) -> str:
    return str(exc).splitlines()[0][:200]
