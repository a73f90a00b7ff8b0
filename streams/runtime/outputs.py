"""The worker's own sends (records, rejects, dead letters, forwarded events) through one confluent-kafka
producer, flushed at the end of every batch.

Faust's producer (aiokafka) cost about a fifth of the worker's time in a bulk run, nearly all of it
Python per message; librdkafka batches and compresses in C. Delivery stays at-least-once: ``batches``
acks a batch's events only when the agent asks for the next batch, and the agent awaits ``flush`` before
it does, so no offset is committed past an output Kafka has not acknowledged. A refused send stops the
worker (``crash_only``) exactly as a refused Faust send does. The lifecycle table's changelog goes out
here too (``streams.runtime.state``): Faust's own table writes queued their changelog records through
aiokafka without limit, and a bulk run left 100,000 of them (hundreds of MB, and tens of seconds of the
event loop) behind.
"""

from __future__ import annotations

import asyncio

from dids.kernel.producer import EventProducer, Headers, ProduceError
from dids.kernel.settings import Settings
from streams.runtime import crash_only


class Outputs:
    def __init__(self, settings: Settings):
        # a batch is flushed as soon as it is judged: a short linger, so live events are not held back
        self._producer = EventProducer(settings, **{"linger.ms": 5})
        self._unflushed = 0

    def send(
        self,
        topic: str,
        key: bytes,
        value: bytes | None,
        headers: Headers | None = None,
        partition: int | None = None,
        on_delivery=None,
    ) -> None:
        """Queue one message (``value`` None: a tombstone); ``on_delivery(err, msg)`` once Kafka answered."""
        self._producer.send(topic, key=key, value=value, headers=headers, partition=partition, on_delivery=on_delivery)
        self._unflushed += 1

    async def flush(self) -> None:
        """Wait (off the event loop) until Kafka acknowledged every output so far; stop the worker if it
        refused one."""
        if not self._unflushed:
            return
        try:
            await asyncio.get_running_loop().run_in_executor(None, self._producer.flush)
        except ProduceError as exc:
            crash_only.stop(
                f"a send to Kafka failed ({exc}): stopping before any offset past it is committed; the events "
                "after the last commit are processed again on restart",
                crash_only.EXIT_SEND_FAILED,
            )
        self._unflushed = 0
