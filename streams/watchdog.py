"""Keeps a stream partition moving when faust-streaming stops delivering it.

faust-streaming's consumer can take records out of aiokafka's buffer without handing them to the
agent when they arrive while a worker finishes recovering (see streams/faust_fixes.py). The
records are not lost -- Faust never acknowledged them, so the committed offset stays put -- but
the partition stalls: the fetch position is past them and Faust will not look back. The watchdog
notices a partition whose fetch position has been ahead of its committed offset, with nothing in
flight, for longer than several commit intervals, and rewinds it to the committed offset. Events
read twice are duplicates to the lifecycle merge, so a rewind costs time, never correctness.
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass, field

import faust
from prometheus_client import Counter, Gauge

log = logging.getLogger(__name__)

REWINDS = Counter(
    "dids_streams_rewinds_total", "Stalled source partitions rewound to their committed offset", ["partition"]
)
LAG = Gauge(
    "dids_streams_consumer_lag",
    "Source events not yet committed by this worker's group (high watermark minus committed offset)",
    ["group", "topic", "partition"],
)


@dataclass
class StallDetector:
    """Pure bookkeeping: which partitions have been stuck (fetched past the committed offset, idle) too long."""

    patience: float
    _since: dict[int, tuple[int | None, float]] = field(default_factory=dict)

    def stalled(self, partition: int, committed: int | None, position: int, in_flight: bool, now: float) -> bool:
        behind = position > (committed or 0)
        if not behind or in_flight:
            self._since.pop(partition, None)
            return False
        first_seen = self._since.get(partition)
        if first_seen is None or first_seen[0] != committed:  # the commit moved: progress, start again
            self._since[partition] = (committed, now)
            return False
        return now - first_seen[1] >= self.patience

    def forget(self, partition: int) -> None:
        self._since.pop(partition, None)


def register(app: faust.App, topic_name: str, *, interval: float = 2.0) -> StallDetector:
    # a healthy partition commits every broker_commit_interval; three of them without progress is a stall
    detector = StallDetector(patience=max(3 * float(app.conf.broker_commit_interval), 5.0))
    lag_series: set[int] = set()

    @app.timer(interval=interval)
    async def watch_partitions():
        consumer = app.consumer
        in_flight = bool(consumer._unacked_messages)  # Faust keeps no per-partition count of these
        assigned = [tp for tp in consumer.assignment() if tp.topic == topic_name]
        for gone in lag_series - {tp.partition for tp in assigned}:  # moved to another worker: not ours to report
            with contextlib.suppress(KeyError):  # never reported (no high watermark yet)
                LAG.remove(app.conf.id, topic_name, str(gone))
        lag_series.clear()
        lag_series.update(tp.partition for tp in assigned)
        for tp in assigned:
            position = await consumer.position(tp)
            committed = consumer._committed_offset.get(tp)
            highwater = consumer.highwater(tp)
            if highwater is not None:
                LAG.labels(app.conf.id, tp.topic, str(tp.partition)).set(max(0, highwater - (committed or 0)))
            if position is None or not detector.stalled(tp.partition, committed, position, in_flight, time.monotonic()):
                continue
            # None: the group never committed this partition, so where it starts is the log start
            # (auto.offset.reset=earliest) -- going back there re-reads only what was never committed
            target = committed or 0
            log.warning(
                "source partition %s[%d] stalled: fetched to %d but committed %s and nothing in flight; "
                "rewinding to %d (events read again are merged as duplicates)",
                tp.topic,
                tp.partition,
                position,
                committed,
                target,
            )
            REWINDS.labels(str(tp.partition)).inc()
            consumer.stop_flow()
            await consumer.wait_for_stopped_flow()
            await consumer.seek(tp, target)
            consumer.resume_flow()
            detector.forget(tp.partition)

    return detector
