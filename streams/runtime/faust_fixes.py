"""Fixes for races in faust-streaming's rebalancing and table recovery, applied when the app is built.

faust-streaming (seen with 0.15.3 on aiokafka 0.14) ends recovery by *resuming* the stream
partitions and only then seeking them to their committed offsets, while its fetcher is already
running. Events that arrive in that window are fetched twice over a moving position: some are
processed, the seek rewinds, and the records buffered across the seek are dropped. Faust then
counts the hole as a gap in the offsets, so the events are never processed (our restart test
caught 2-3 of 80 events skipped, about one run in two). Seeking first, while the partitions
are still paused, leaves nothing in flight to lose. The two Recovery methods below are faust's own
with those two steps swapped and the seek recorded (``epoch``); nothing else differs.

The seek itself does not rewind a partition the group never committed (aiokafka seeks only to a
committed offset above 0). When a worker joins while events flow and takes a partition the first
worker had not committed yet, its fetcher has already read ahead during recovery, and a contiguous
run of events was skipped (`dids bench --workers 2`: ~3,000 of 20,000 events, two runs in two).
Such partitions are sought to their start explicitly.

A third fix: a stream partition whose buffer filled is set aside until the buffer drains, and Faust then
makes it active again even when it has been paused meanwhile, as every partition is while a rebalance
recovers the table. A worker whose buffer was full when the second worker left (Faust clears the buffers
then) went on reading that partition through the recovery, from where its fetch had got to, and the
events it had cleared were not read again after the seek (test_rebalance: 64-257 examinations, one run
in four). A drained buffer now makes its partition active only if it is not paused.

``epoch`` tells ``streams.runtime.batching`` which rebalance an event was delivered after, so that it acks
only events read since the last seek: Faust forgets every partition's acks when a rebalance begins.
"""

from __future__ import annotations

import asyncio
import importlib.metadata

from faust.tables.recovery import Recovery
from faust.transport.consumer import Consumer
from faust.types import TP

from dids.kernel.errors import DidsError


async def _seek_then_resume(recovery: Recovery, assignment) -> None:
    consumer = recovery.app.consumer
    recovery.log.info("Seek stream partitions to committed offsets (before resuming them).")
    await recovery._wait(consumer.perform_seek(), timeout=recovery.app.conf.broker_request_timeout)
    streams = {tp for tp in assignment if not recovery._is_changelog_tp(tp)}
    # aiokafka's seek_to_committed seeks only to a committed offset > 0: a partition with nothing
    # committed keeps the position the fetcher reached during recovery, past events it fetched and
    # Faust dropped. Start those at the beginning, as auto_offset_reset=earliest means.
    # (Faust's own leader-election topic is assigned too, but nobody reads it)
    internal = consumer.randomly_assigned_topics
    never_committed = [tp for tp in streams if tp.topic not in internal and not consumer._committed_offset.get(tp)]
    for tp in sorted(never_committed):
        recovery.log.info("Stream partition %s[%d] has no committed offset: reading it from the start.", *tp)
        await consumer.seek(tp, 0)
    sought(recovery.app)
    consumer.resume_partitions(streams)


_SOUGHT = "_dids_sought_after_rebalance"


def sought(app) -> None:
    """The rebalance under way has sought the stream partitions to their committed offsets."""
    setattr(app, _SOUGHT, app.rebalancing_count)


def epoch(app) -> int | None:
    """Which rebalance the stream partitions' events date from: the number of rebalances begun, once the
    last one has sought the partitions to their committed offsets; None from its start until then, while
    Faust has forgotten their acks and whatever it delivers of them will be read again after the seek.
    (``app.rebalancing`` is cleared only after the fetcher has restarted, when events may already flow.)"""
    count = app.rebalancing_count
    return count if getattr(app, _SOUGHT, None) == count else None


async def _resume_streams(self: Recovery, generation_id: int = 0) -> None:
    app = self.app
    consumer = app.consumer
    await app.on_rebalance_complete.send()
    assignment = consumer.assignment()
    if app.consumer_generation_id != generation_id:
        self.log.warning("Recovery rebalancing again")
        return
    if assignment:
        await _seek_then_resume(self, assignment)
    else:
        self.log.info("Resuming streams with empty assignment")
        sought(app)
    self.completed.set()
    self.log.info("Resuming flow...")
    app.flow_control.resume()
    consumer.resume_flow()
    await app._fetcher.maybe_start()
    self.tables.on_actives_ready()
    self.tables.on_standbys_ready()
    app.on_rebalance_end()


async def _on_recovery_completed(self: Recovery, generation_id: int = 0) -> None:
    consumer = self.app.consumer
    self.log.info("Restore complete!")
    await self.app.on_rebalance_complete.send()
    self._set_recovery_ended()
    callbacks = [
        asyncio.ensure_future(
            table.on_recovery_completed(self.actives_for_table[table], self.standbys_for_table[table])
        )
        for table in self.tables.values()
    ]
    if callbacks:
        await asyncio.wait(callbacks)
    assignment = consumer.assignment()
    if self.app.consumer_generation_id != generation_id:
        self.log.warning(f"Recovery rebalancing again app id {self.app.consumer_generation_id} param {generation_id}")
        return
    if assignment:
        await _seek_then_resume(self, assignment)
    else:
        sought(self.app)
    self.completed.set()
    self.app.flow_control.resume()
    consumer.resume_flow()
    await self.app._fetcher.maybe_start()
    self.tables.on_actives_ready()
    if not self.app.assignor.assigned_standbys():
        self.tables.on_standbys_ready()
    self.app.on_rebalance_end()
    self.log.info("Worker ready")


def _on_buffer_drop(self: Consumer, tp: TP) -> None:
    """Faust's ``Consumer.on_buffer_drop``, except that a paused partition stays paused (it is made active
    when it is resumed, as after recovery)."""
    buffered = self._buffered_partitions
    if tp in buffered:
        buffered.discard(tp)
        if tp not in self._paused_partitions:
            self._get_active_partitions().add(tp)


PATCHED_VERSION = "0.15.3"  # the faust-streaming whose methods the three functions above copy


class FaustVersionError(DidsError):
    """The installed faust-streaming is not the version these fixes were written against."""


def apply() -> None:
    installed = importlib.metadata.version("faust-streaming")
    if installed != PATCHED_VERSION:
        raise FaustVersionError(
            f"faust-streaming {installed} is installed; streams/runtime/faust_fixes.py replaces three methods of "
            f"faust-streaming {PATCHED_VERSION}'s consumer and table recovery and must be re-checked against the new "
            f"code before it runs (then update PATCHED_VERSION). Install the locked version: "
            "pip install --require-hashes -r requirements.lock"
        )
    Recovery._resume_streams = _resume_streams
    Recovery.on_recovery_completed = _on_recovery_completed
    Consumer.on_buffer_drop = _on_buffer_drop
