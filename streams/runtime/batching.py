"""The agent's batches of events: Faust's ``Stream.take_events``, except that events keep arriving while
a batch is judged.

``take_events`` stops filling its buffer from the moment it hands a batch over until the agent asks for
the next one, then waits up to ``within`` for new events; and Faust hands events over only while the
event loop is free. With the judging on the loop, a batch held only what Faust delivered in ``within``
(0.02 s: ~50 events on a loaded core), however many were waiting, while judging any batch costs a fixed
~50 ms of polars: at 500 events/s live the worker fell further behind with every batch (stream
freshness of 2-10 s). Now the agent judges in a thread (``streams.runtime.agents``) and the next batch
fills here meanwhile, so a batch is whatever arrived since the last one, up to ``max_events``: small
batches when the worker keeps up, larger ones, and so fewer fixed costs, when it does not.

Delivery: Faust's own acks are off and each event is acked only when the agent asks for the batch after
its own (so after its outputs were flushed), as ``take_events`` acks, and only if no rebalance began since
it was delivered (``faust_fixes.epoch``). A rebalance forgets the acks of every partition (kept or not),
clears Faust's own buffers (not ours) and, once the table is recovered, seeks each partition to its
committed offset. Until that seek Faust knows no committed offset and commits the end of whatever run of
acks it holds; after it, acks of events read before it sit beside the ones read again. Events delivered
before the seek are dropped unjudged, or, if already being judged, published but not acked: read again
from the committed offset, they come out twice (at least once), never not at all.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import cast

from faust.types import ChannelT, EventT, StreamT
from mode.utils.aiter import aiter

from streams.runtime.faust_fixes import epoch as _epoch


class _Pending:
    """The events of the batch being filled."""

    def __init__(self) -> None:
        self.events: list[EventT] = []
        self.weight = 0  # the examination events they hold (a chunk message holds many)
        self.first_at: float | None = None  # monotonic time of its first event
        self.epoch: int | None = None  # the rebalance its events were delivered after (``faust_fixes.epoch``)
        self.arrived = asyncio.Event()  # it has an event
        self.full = asyncio.Event()  # it has max_events
        self.room = asyncio.Event()  # it may take more (cleared while full)
        self.room.set()

    def take(self) -> list[EventT]:
        events, self.events, self.first_at, self.weight = self.events, [], None, 0
        self.arrived.clear()
        self.full.clear()
        self.room.set()
        return events


async def batches(
    stream: StreamT, max_events: int, within: float, weight: Callable[[EventT], int] = lambda event: 1
) -> AsyncIterator[list[EventT]]:
    """Lists of messages holding at most about ``max_events`` events (``weight``: how many a message
    holds; one message is taken whatever it holds): a list is handed over once it is full, or ``within``
    seconds after its first message arrived (at once if that is past: it filled during the last batch).
    Without the weight a batch that filled while the last was judged could hold hundreds of chunk
    messages: hundreds of thousands of events held, and acknowledged, only once all were judged."""
    pending = _Pending()

    async def add(value):
        event = stream.current_event
        if event is None:
            raise RuntimeError("a batch found no current event")
        while pending.weight >= max_events:
            await stream.wait(pending.room)  # the agent is still judging a full batch: Faust waits here
        epoch = _epoch(stream.app)
        if epoch is None:
            return value  # mid-rebalance: not judged, not acked (read again from the committed offset)
        if pending.epoch != epoch:
            pending.take()  # delivered before a rebalance: dropped for the same reason
            pending.epoch = epoch
        pending.events.append(event)
        pending.weight += weight(event)
        if pending.first_at is None:
            pending.first_at = time.monotonic()
            pending.arrived.set()
        if pending.weight >= max_events:
            pending.full.set()
            pending.room.clear()
        return value

    acks = stream.enable_acks
    stream.enable_acks = False  # acked here, after the agent is done with them
    stream.add_processor(add)
    # Faust iterates the stream in the background, calling ``add`` for each event (as take_events does)
    stream._enable_passive(cast(ChannelT, aiter(stream.channel)))
    try:
        while not stream.should_stop:
            await stream.wait_for_stopped(pending.arrived)
            if not pending.events:
                continue
            assert pending.first_at is not None
            left = pending.first_at + within - time.monotonic()
            if left > 0 and not pending.full.is_set():
                await stream.wait_for_stopped(pending.full, timeout=left)
            epoch, events = pending.epoch, pending.take()
            if epoch != _epoch(stream.app):
                continue  # a rebalance began since they were delivered: dropped, as in ``add``
            yield events
            # acked only when the agent asks for the next batch, never in a ``finally``: a worker stopped
            # mid-batch closes this generator at the ``yield``, before the batch's outputs were flushed,
            # and acking then let its last commit pass events it never published
            if epoch == _epoch(stream.app):
                for event in events:
                    await stream.ack(event)
    finally:
        stream.enable_acks = acks
        stream._processors.remove(add)
