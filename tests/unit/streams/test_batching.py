"""When ``streams.runtime.batching.batches`` acks a batch's events, on a real Faust stream (over an in-memory
channel; no broker is contacted): only once the agent asks for the next batch, so never for a batch whose
outputs the agent did not get to flush. A worker stopped mid-batch had acked the open batch as its
generator closed, and its last commit passed examinations it never published (test_rebalance)."""

from __future__ import annotations

import asyncio

import faust
import pytest

from streams.runtime import faust_fixes
from streams.runtime.batching import batches


async def _stream(values: int):
    """A started Faust stream holding ``values`` events, and the list its acks are recorded in."""
    app = faust.App("batching-test", broker="kafka://127.0.0.1:9", autodiscover=False, web_enabled=False)
    app.flow_control.resume()
    channel = app.channel()
    stream = channel.stream()
    acked: list[int] = []

    async def ack(event) -> bool:  # Faust's Stream.ack, recorded (the channel's events have no consumer)
        acked.append(event.value)
        return True

    stream.ack = ack
    _rebalance(app)  # a worker's first assignment
    await stream.maybe_start()
    for value in range(values):
        await channel.send(value=value)
    return stream, channel, acked


def _rebalance(app) -> None:
    """A rebalance: begun as Faust marks it, its partitions sought (``faust_fixes``), ended."""
    app.on_rebalance_start()
    faust_fixes.sought(app)
    app.on_rebalance_end()


async def _next(agen):
    return [event.value for event in await asyncio.wait_for(agen.__anext__(), timeout=10)]


def test_a_batch_is_acked_when_the_next_is_asked_for():
    async def run():
        stream, channel, acked = await _stream(5)
        agen = batches(stream, 10, 0.01)
        assert await _next(agen) == [0, 1, 2, 3, 4]
        assert acked == []  # handed over, not yet done with
        await channel.send(value=5)
        assert await _next(agen) == [5]
        assert acked == [0, 1, 2, 3, 4]
        await agen.aclose()
        await stream.stop()

    asyncio.run(run())


@pytest.mark.parametrize("how", ["closed", "raised"])
def test_a_batch_the_agent_never_finished_is_not_acked(how):
    """The agent stopped (its task cancelled: the generator is closed at its ``yield``) or failed while
    judging: the open batch stays unacked, for whoever holds the partition next to process again."""

    async def run():
        stream, channel, acked = await _stream(3)
        agen = batches(stream, 10, 0.01)
        await _next(agen)
        await channel.send(value=3)
        assert await _next(agen) == [3]
        assert acked == [0, 1, 2]
        if how == "closed":
            await agen.aclose()
        else:
            with pytest.raises(RuntimeError):
                await agen.athrow(RuntimeError("judging failed"))
        assert acked == [0, 1, 2]
        await stream.stop()

    asyncio.run(run())


def test_a_full_batch_waits_and_the_next_takes_the_rest():
    """At most ``max_events`` a batch: the rest waits for the next one, in order."""

    async def run():
        stream, _, acked = await _stream(7)
        agen = batches(stream, 4, 0.01)
        assert await _next(agen) == [0, 1, 2, 3]
        assert await _next(agen) == [4, 5, 6]
        assert acked == [0, 1, 2, 3]
        await agen.aclose()
        await stream.stop()

    asyncio.run(run())


def test_a_rebalance_while_a_batch_is_judged_leaves_it_unacked():
    """Its partitions' acks were forgotten and each is sought back to its committed offset: an ack now
    would count towards an offset nobody committed."""

    async def run():
        stream, channel, acked = await _stream(3)
        agen = batches(stream, 10, 0.01)
        assert await _next(agen) == [0, 1, 2]
        _rebalance(stream.app)
        await channel.send(value=3)
        assert await _next(agen) == [3]
        assert acked == []
        await channel.send(value=4)
        assert await _next(agen) == [4]
        assert acked == [3]  # delivered after the rebalance: acked as usual
        await agen.aclose()
        await stream.stop()

    asyncio.run(run())


def test_events_delivered_before_a_rebalance_are_dropped_unjudged():
    """Faust clears its own buffers at a rebalance; the batch being filled is ours to clear: its events
    are read again from the committed offset after it."""

    async def run():
        stream, channel, acked = await _stream(0)
        agen = batches(stream, 10, 0.5)
        first = asyncio.ensure_future(_next(agen))
        await channel.send(value=0)
        await asyncio.sleep(0.1)  # delivered, waiting for the batch to fill or its 0.5 s
        _rebalance(stream.app)
        await asyncio.sleep(0.1)
        await channel.send(value=1)
        assert await first == [1]
        stream.app.on_rebalance_start()  # one delivered mid-rebalance, before the seek, is not taken either
        await channel.send(value=2)
        await asyncio.sleep(0.1)
        faust_fixes.sought(stream.app)  # sought: what is read now is taken, though Faust has not ended it yet
        await channel.send(value=3)
        assert await _next(agen) == [3]
        assert acked == []  # [1] was still the agent's when the second rebalance began
        await channel.send(value=4)
        assert await _next(agen) == [4]
        assert acked == [3]
        stream.app.on_rebalance_end()
        await agen.aclose()
        await stream.stop()

    asyncio.run(run())
