"""The ClickHouse sink: dids.examinations -> <db>.examinations, exactly once.

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

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

from confluent_kafka import OFFSET_INVALID, Consumer, KafkaError, TopicPartition
from prometheus_client import Counter, Gauge, Histogram

from dids.errors import DidsError
from dids.kafka import client_config
from dids.metrics import LATENCY_BUCKETS
from dids.settings import Settings
from producers.kafka import EventProducer
from schemas.catalog import EXAMINATION_RECORD, Catalog, default_catalog
from schemas.codec import CodecError
from sinks.clickhouse import DatabaseError, OperationalError, connect
from streams import topics

log = logging.getLogger(__name__)

ROWS = Counter("dids_sink_rows_total", "Rows inserted into ClickHouse", ["table"])
BATCHES = Counter("dids_sink_batches_total", "Batches inserted into ClickHouse", ["table"])
ERRORS = Counter("dids_sink_errors_total", "Sink errors", ["kind"])
DEAD_LETTERS = Counter("dids_sink_dead_letters_total", "Undecodable messages sent to the dead-letter topic")
INSERT_SECONDS = Histogram("dids_sink_insert_seconds", "ClickHouse insert latency", buckets=LATENCY_BUCKETS)
FRESHNESS = Histogram(
    "dids_sink_freshness_seconds", "Now minus RIS event time when the row was inserted", buckets=LATENCY_BUCKETS
)
LAG = Gauge("dids_sink_consumer_lag", "Messages not yet consumed", ["topic", "partition"])

EXAMINATION_COLUMNS = [
    "record_key",
    "site_code",
    "accession_number",
    "version",
    "status",
    "event_id",
    "event_type",
    "event_time",
    "received_time",
    "processed_time",
    "source",
    "submission_id",
    "submitter_org",
    "provider_code",
    "diagnostic_test_date",
    "month_of_test",
    "year_of_test",
    "patient_source_setting",
    "imaging_code_nicip",
    "imaging_code_snomed",
    "kafka_topic",
    "kafka_partition",
    "kafka_offset",
]
_KAFKA_COLUMNS = {"kafka_topic", "kafka_partition", "kafka_offset"}


def to_row(record: dict[str, Any], topic: str, partition: int, offset: int) -> list[Any]:
    values = dict(record)
    d = values.get("diagnostic_test_date")
    values["diagnostic_test_date"] = _date_or_none(d)
    values.update(kafka_topic=topic, kafka_partition=partition, kafka_offset=offset)
    return [values.get(c) for c in EXAMINATION_COLUMNS]


def _date_or_none(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


@dataclass
class _Pending:
    rows: list[list[Any]] = field(default_factory=list)
    first: int = -1
    last: int = -1
    oldest_event: datetime | None = None


class SinkStoppedError(DidsError):
    """The sink was asked to stop while a batch could not be inserted; its offsets stay uncommitted."""


class ClickHouseSink:
    def __init__(self, settings: Settings, *, catalog: Catalog | None = None, table: str = "examinations"):
        self.settings = settings
        self.catalog = catalog or default_catalog()
        self.table = table
        self.topic = settings.topic(topics.EXAMINATIONS)
        self.dlq_topic = settings.topic(topics.DLQ)
        self.client = connect(settings)
        self.stop_event = threading.Event()
        self._pending: dict[int, _Pending] = {}
        self._first_pending_at: float | None = None
        self._dlq: EventProducer | None = None
        self.rows_inserted = 0
        self.consumer = Consumer(
            client_config(
                settings,
                **{
                    "group.id": settings.sink_group,
                    "enable.auto.commit": False,
                    "auto.offset.reset": "earliest",
                    "max.poll.interval.ms": 900_000,
                    "fetch.max.bytes": 16 * 1024 * 1024,
                },
            )
        )

    # -- lifecycle -------------------------------------------------------------------------------

    def run(self) -> None:
        self.consumer.subscribe([self.topic], on_assign=self._on_assign, on_revoke=self._on_revoke)
        log.info("sink consuming %s into %s.%s", self.topic, self.settings.clickhouse_database, self.table)
        try:
            while not self.stop_event.is_set():
                room = max(1, self.settings.sink_batch_rows - self._pending_rows())
                for msg in self.consumer.consume(num_messages=min(room, 2000), timeout=0.2):
                    self._add(msg)
                if self._due():
                    self.flush()
            self.flush()
        except SinkStoppedError as exc:
            log.warning("%s", exc)
        finally:
            self.consumer.close()
            if self._dlq is not None:
                self._dlq.flush()

    def stop(self) -> None:
        self.stop_event.set()

    # -- batching --------------------------------------------------------------------------------

    def _add(self, msg) -> None:
        err = msg.error()
        if err is not None:
            if err.code() != KafkaError._PARTITION_EOF:
                ERRORS.labels("consume").inc()
                log.error("consume error: %s", err.str())
            return
        partition, offset = msg.partition(), msg.offset()
        pending = self._pending.setdefault(partition, _Pending())
        if pending.first < 0:
            pending.first = offset
        pending.last = offset
        if self._first_pending_at is None:
            self._first_pending_at = time.monotonic()
        try:
            record = self.catalog.decode(msg.value(), EXAMINATION_RECORD)
        except CodecError as exc:
            self._dead_letter(msg, exc)
            return
        pending.rows.append(to_row(record, msg.topic(), partition, offset))
        ev = record["event_time"]
        if pending.oldest_event is None or ev < pending.oldest_event:
            pending.oldest_event = ev

    def _pending_rows(self) -> int:
        return sum(len(p.rows) for p in self._pending.values())

    def _due(self) -> bool:
        if self._first_pending_at is None:
            return False
        return (
            self._pending_rows() >= self.settings.sink_batch_rows
            or time.monotonic() - self._first_pending_at >= self.settings.sink_batch_seconds
        )

    def flush(self, partitions: set[int] | None = None) -> None:
        """Insert pending rows (per partition, each with its own token), then commit their offsets."""
        done = []
        for partition, pending in sorted(self._pending.items()):
            if partitions is not None and partition not in partitions:
                continue
            if pending.rows:
                token = f"{self.topic}:{partition}:{pending.first}-{pending.last}"
                self._insert_with_retry(pending.rows, token)
                now = datetime.now(timezone.utc)
                for row in pending.rows:
                    FRESHNESS.observe(max(0.0, (now - row[7]).total_seconds()))
            done.append(TopicPartition(self.topic, partition, pending.last + 1))
        if not done:
            return
        self.consumer.commit(offsets=done, asynchronous=False)
        for tp in done:
            del self._pending[tp.partition]
        if not self._pending:
            self._first_pending_at = None
        self._update_lag()

    def _insert_with_retry(self, rows: list[list[Any]], token: str) -> None:
        delay = 0.5
        while True:
            started = time.monotonic()
            try:
                self.client.insert(
                    self.table,
                    rows,
                    column_names=EXAMINATION_COLUMNS,
                    settings={"insert_deduplication_token": token},
                )
            except (OperationalError, DatabaseError) as exc:
                ERRORS.labels("insert").inc()
                log.warning("insert of %d rows failed (%s); retrying in %.1fs", len(rows), _short(exc), delay)
                if self.stop_event.wait(delay):
                    # stopping: leave the batch uncommitted, the next run inserts it (same token)
                    raise SinkStoppedError(f"stopped with {len(rows)} rows not inserted: {_short(exc)}") from exc
                delay = min(delay * 2, 10.0)
                continue
            INSERT_SECONDS.observe(time.monotonic() - started)
            ROWS.labels(self.table).inc(len(rows))
            BATCHES.labels(self.table).inc()
            self.rows_inserted += len(rows)
            return

    # -- rebalancing -----------------------------------------------------------------------------

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Start each partition after whatever is already in ClickHouse or committed."""
        inserted = self._inserted_offsets()
        committed = {tp.partition: tp.offset for tp in consumer.committed(partitions, timeout=30)}
        for tp in partitions:
            start = committed.get(tp.partition, OFFSET_INVALID)
            if tp.partition in inserted and (start < 0 or inserted[tp.partition] + 1 > start):
                start = inserted[tp.partition] + 1
                log.info("partition %d: seeking to %d, after rows already in ClickHouse", tp.partition, start)
            tp.offset = start
        consumer.assign(partitions)

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # hand the partitions over with nothing half-done
        self.flush({tp.partition for tp in partitions})

    def _inserted_offsets(self) -> dict[int, int]:
        while True:
            try:
                result = self.client.query(
                    f"SELECT kafka_partition, max(kafka_offset) FROM {self.table} "
                    "WHERE kafka_topic = {t:String} GROUP BY kafka_partition",
                    parameters={"t": self.topic},
                )
                return {int(p): int(o) for p, o in result.result_rows}
            except OperationalError as exc:
                log.warning("ClickHouse unavailable while assigning partitions (%s); retrying", _short(exc))
                time.sleep(1.0)

    def _update_lag(self) -> None:
        try:
            for tp in self.consumer.position(self.consumer.assignment()):
                _, high = self.consumer.get_watermark_offsets(tp, timeout=1.0, cached=False)
                if tp.offset >= 0:
                    LAG.labels(self.topic, str(tp.partition)).set(max(0, high - tp.offset))
        except Exception as exc:  # lag is best effort; never stop the sink for it
            log.debug("lag update failed: %s", exc)

    def _dead_letter(self, msg, exc: Exception) -> None:
        DEAD_LETTERS.inc()
        if self._dlq is None:
            self._dlq = EventProducer(self.settings)
        headers = [
            ("dids.error", type(exc).__name__.encode()),
            ("dids.error.message", str(exc)[:1000].encode()),
            ("dids.source.topic", msg.topic().encode()),
            ("dids.source.partition", str(msg.partition()).encode()),
            ("dids.source.offset", str(msg.offset()).encode()),
        ]
        self._dlq.send(self.dlq_topic, key=msg.key() or b"", value=msg.value() or b"", headers=headers)
        self._dlq.flush()  # before the offset can be committed
        log.warning("dead-lettered %s[%d]@%d: %s", msg.topic(), msg.partition(), msg.offset(), type(exc).__name__)


def _short(exc: Exception) -> str:
    return str(exc).splitlines()[0][:200]
