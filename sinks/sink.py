"""The ClickHouse sink: dids.examinations, dids.rejects, dids.submissions, dids.consent and dids.optout into tables,
exactly once. This module is the consumer loop; ``routes`` says which topic goes into which table and how
a record becomes a row, ``batches`` holds rows between inserts, ``inserts`` inserts a batch.

How nothing is lost or doubled:
* offsets are committed only after ClickHouse acknowledged the insert;
* each insert carries a deterministic ``insert_deduplication_token`` (``inserts``), so a retried batch
  is a no-op in ClickHouse;
* on (re)assignment the sink seeks past the offsets already present in the table, so a crash
  between insert and commit does not insert the same messages again under other batch bounds;
* rows are versioned: ReplacingMergeTree(version) keeps the latest version of each examination.
One insert is in flight at a time while the next batch gathers. While ClickHouse is unreachable the
sink keeps the batch in flight, retries with backoff and reads no more than one batch beyond it
(bounded memory); it never skips a batch.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import datetime, timezone

from confluent_kafka import OFFSET_INVALID, Consumer, KafkaError, TopicPartition

from dids.kernel import topics
from dids.kernel.dead_letters import DeadLetter
from dids.kernel.kafka import client_config
from dids.kernel.producer import EventProducer
from dids.kernel.settings import Settings
from schemas.catalog import Catalog, default_catalog
from schemas.codec import CodecError
from sinks.batches import Batch, Batches
from sinks.clickhouse import OperationalError, connect
from sinks.inserts import Inserter, SinkStoppedError, short
from sinks.metrics import DEAD_LETTERS, ERRORS, FRESHNESS, LAG
from sinks.routes import BadRowError, Route, TableShape, routes

log = logging.getLogger(__name__)


class ClickHouseSink:
    def __init__(self, settings: Settings, *, catalog: Catalog | None = None):
        self.settings = settings
        self.catalog = catalog or default_catalog()
        self.routes = {r.topic: r for r in routes(settings)}
        self.dlq_topic = settings.topic(topics.DLQ)
        self.client = connect(settings)
        self.shapes = {r.table: TableShape.describe(self.client, r.table) for r in self.routes.values()}
        self.stop_event = threading.Event()
        self.batches = Batches(settings.sink_batch_rows, settings.sink_batch_seconds)
        self.inserter = Inserter(self.client, self.shapes, self.stop_event, self._dead_letter_message)
        self._dlq: EventProducer | None = None
        self._dlq_lock = threading.Lock()
        self._lag_updated = 0.0
        self._flight: tuple[list[tuple[tuple[str, int], Batch]], list[Future]] | None = None  # inserts under way
        self._assigned = False
        # each table's batches are one insert; the engine takes the tables side by side
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
                if self.batches.due():
                    self._land()  # one insert in flight at a time: a partition's batches go in in order
                    self._launch()
                else:
                    for msg in self._next_messages(min(self.batches.room(), 2000)):
                        self._add(msg)
                self._land(block=False)
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
        if self.inserter.failing_since is not None:
            return False, f"ClickHouse inserts failing for {time.monotonic() - self.inserter.failing_since:.0f}s"
        if not self._assigned:
            return False, "waiting for a partition assignment"
        return True, "ok"

    # -- consuming -------------------------------------------------------------------------------

    def _add(self, msg) -> None:
        err = msg.error()
        if err is not None:
            if err.code() != KafkaError._PARTITION_EOF:
                ERRORS.labels("consume").inc()
                log.error("consume error: %s", err.str())
            return
        topic, partition, offset = msg.topic(), msg.partition(), msg.offset()
        route = self.routes[topic]
        batch = self.batches.batch(route, topic, partition, offset)
        try:
            if route.check is not None:  # a hashed list (consent, opt-out): tombstones count too
                value = None if msg.value() is None else self.catalog.decode(msg.value(), route.schema)
                record = route.check(msg.key(), value, msg.timestamp()[1])
            else:
                record = self.catalog.decode(msg.value(), route.schema)
            row = self.shapes[route.table].row(record, topic, partition, offset)
        except (CodecError, BadRowError) as exc:
            self._dead_letter(msg, exc)
            return
        batch.rows.append(row)
        batch.sources.append((msg.key(), msg.value(), offset))

    def _next_messages(self, most: int) -> list:
        """Up to ``most`` messages. With nothing pending, return as soon as one arrives (with whatever
        else is already fetched), so the batch window starts when the first message does: a batch
        consume call waits out its whole timeout, which added up to 0.2 s to freshness. With a batch
        pending, wait at most until it is due."""
        left = self.batches.seconds_left()
        if left is None:
            first = self.consumer.poll(0.2)
            if first is None:
                return []
            return [first, *(self.consumer.consume(num_messages=most - 1, timeout=0) if most > 1 else [])]
        return self.consumer.consume(num_messages=most, timeout=min(0.2, max(0.0, left)))

    def flush(self, only: set[tuple[str, int]] | None = None) -> None:
        """Insert the pending rows (of ``only`` these topic-partitions) and commit their offsets, now."""
        self._land()
        self._launch(only)
        self._land()

    def _launch(self, only: set[tuple[str, int]] | None = None) -> None:
        """Start inserting the pending rows: one insert per table, its token naming each topic-partition's
        offsets, the tables side by side. The sink goes on reading meanwhile, so the rows that arrive during
        an insert wait for the next one, not for this one to end as well."""
        flushing = self.batches.take(only)
        if not flushing:
            return
        by_table: dict[str, list[tuple[tuple[str, int], Batch]]] = {}
        for key, batch in flushing:
            if batch.rows:  # a batch of dead letters only has offsets to commit
                by_table.setdefault(batch.route.table, []).append((key, batch))
        # a table's partitions in one insert: an insert's cost is mostly fixed (~30 ms of the engine's
        # CPU for a part of ~100 columns, one row or thousands), so live batches cost half as much
        inserts = [self._inserts.submit(self.inserter.insert_batches, batches) for batches in by_table.values()]
        self._flight = (flushing, inserts)

    def _land(self, *, block: bool = True) -> None:
        """Once the inserts in flight are acknowledged (waiting for them unless ``block`` is False), commit
        their offsets. Nothing is committed unless every insert was acknowledged."""
        if self._flight is None:
            return
        flushing, inserts = self._flight
        if not block and not all(insert.done() for insert in inserts):
            return
        self._flight = None
        wait(inserts)
        for insert in inserts:
            insert.result()  # SinkStoppedError: stopping with a batch not inserted; nothing is committed
        for _, batch in flushing:
            if batch.rows:
                self._observe_freshness(batch)
        done = [TopicPartition(topic, partition, batch.last + 1) for (topic, partition), batch in flushing]
        self.consumer.commit(offsets=done, asynchronous=False)

    def _observe_freshness(self, batch: Batch) -> None:
        columns = self.shapes[batch.route.table].columns
        if "event_time" not in columns:  # submission manifests: no RIS event behind them
            return
        at = columns.index("event_time")
        now = datetime.now(timezone.utc)
        for row in batch.rows:
            FRESHNESS.observe(max(0.0, (now - row[at]).total_seconds()))

    # -- rebalancing -----------------------------------------------------------------------------

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Start each partition after whatever is already in ClickHouse or committed."""
        self._land()  # what is in flight is in ClickHouse before its offsets are read back
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
                log.warning("ClickHouse unavailable while assigning partitions (%s); retrying", short(exc))
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
            headers = DeadLetter(type(exc).__name__, short(exc)).headers(topic, partition, offset)
            self._dlq.send(self.dlq_topic, key=key or b"", value=value or b"", headers=headers)
            self._dlq.flush()  # before the offset can be committed
        log.warning("dead-lettered %s[%d]@%d: %s: %s", topic, partition, offset, type(exc).__name__, short(exc))
