"""Keeps a stream partition moving when faust-streaming stops delivering it.

faust-streaming's consumer can take records out of aiokafka's buffer without handing them to the
agent when they arrive while a worker finishes recovering (see streams/runtime/faust_fixes.py). The
records are not lost -- Faust never acknowledged them, so the committed offset stays put -- but
the partition stalls: the fetch position is past them and Faust will not look back. The watchdog
notices a partition whose fetch position has been ahead of its committed offset, with nothing in
flight, for longer than several commit intervals, and rewinds it to the committed offset. Events
read twice are duplicates to the lifecycle merge, so a rewind costs time, never correctness.

When that is not enough -- after a broker restart a worker has been seen to hang for good, its
timers and fetcher silent -- the liveness guard ends the process: a thread of its own (so a stuck
event loop cannot hold it up) exits the worker when events wait and none has been processed, or the
watchdog has not completed a round, for ``DIDS_STREAMS_LIVENESS_SECONDS``. The supervisor
(docker compose ``restart: unless-stopped``, systemd, Kubernetes) starts it again; the restarted
worker recovers its table from the changelog and carries on from the committed offsets.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
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


@dataclass
class Liveness:
    """Pure bookkeeping for the liveness guard: is the worker still doing its work?"""

    limit: float
    progress_at: float = field(default_factory=time.monotonic)  # an event was processed
    watched_at: float = field(default_factory=time.monotonic)  # the watchdog completed a round
    waiting: int = 0  # source events not yet committed, as of the last round

    def progressed(self, now: float | None = None) -> None:
        self.progress_at = time.monotonic() if now is None else now

    def watched(self, waiting: int, now: float | None = None) -> None:
        self.watched_at = time.monotonic() if now is None else now
        if waiting and not self.waiting:  # work just arrived: the clock for processing it starts now
            self.progress_at = self.watched_at
        self.waiting = waiting

    def problem(self, now: float | None = None) -> str | None:
        now = time.monotonic() if now is None else now
        if now - self.watched_at > self.limit:
            return f"the partition watchdog has not completed a round for {now - self.watched_at:.0f}s"
        if self.waiting and now - self.progress_at > self.limit:
            return f"{self.waiting} events waiting and none processed for {now - self.progress_at:.0f}s"
        return None


def _guard(liveness: Liveness, interval: float) -> None:
    while True:
        time.sleep(interval)
        problem = liveness.problem()
        if problem:
            log.error(
                "worker stuck: %s; exiting so that it is restarted (nothing is lost: offsets stay uncommitted)", problem
            )
            logging.shutdown()
            os._exit(70)  # EX_SOFTWARE; a clean shutdown would wait on the very thing that hangs


def register(app: faust.App, topic_name: str, *, liveness: Liveness, interval: float = 2.0) -> StallDetector:
    # a healthy partition commits every broker_commit_interval; three of them without progress is a stall
    detector = StallDetector(patience=max(3 * float(app.conf.broker_commit_interval), 5.0))
    lag_series: set[int] = set()

    @app.timer(interval=interval)
    async def watch_partitions():
        consumer = app.consumer
        if app.rebalancing or not app.tables.recovery.completed.is_set():
            liveness.watched(0)  # recovering a large table takes as long as it takes: not a hang
            return
        in_flight = bool(consumer._unacked_messages)  # Faust keeps no per-partition count of these
        assigned = [tp for tp in consumer.assignment() if tp.topic == topic_name]
        for gone in lag_series - {tp.partition for tp in assigned}:  # moved to another worker: not ours to report
            with contextlib.suppress(KeyError):  # never reported (no high watermark yet)
                LAG.remove(app.conf.id, topic_name, str(gone))
        lag_series.clear()
        lag_series.update(tp.partition for tp in assigned)
        waiting = 0
        for tp in assigned:
            position = await consumer.position(tp)
            committed = consumer._committed_offset.get(tp)
            highwater = consumer.highwater(tp)
            if highwater is not None:
                lag = max(0, highwater - (committed or 0))
                LAG.labels(app.conf.id, tp.topic, str(tp.partition)).set(lag)
                waiting += lag
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
        liveness.watched(waiting)

    @app.task
    async def start_liveness_guard():
        threading.Thread(target=_guard, args=(liveness, 5.0), name="liveness", daemon=True).start()

    return detector
