"""The listener's one Kafka producer, polled from a thread: ``deliver`` resolves on the event loop when
Kafka acknowledged a message, or raises ``DeliveryError`` (resend later) or ``RefusedEventError`` (the
broker refused the message itself)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading

from confluent_kafka import KafkaError

from dids.kernel.producer import EventProducer
from producers.hl7.errors import DeliveryError, RefusedEventError

log = logging.getLogger(__name__)


class KafkaBridge:
    """The one producer, polled from a thread; ``deliver`` resolves when Kafka acknowledged."""

    def __init__(self, producer: EventProducer, loop: asyncio.AbstractEventLoop) -> None:
        self._producer = producer
        self._loop = loop
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="hl7-kafka-poll", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.is_set():
            self._producer.poll(0.1)

    async def deliver(self, topic: str, key: bytes, value: bytes, headers=None) -> None:
        future = self._loop.create_future()

        def done(err, _msg) -> None:
            with contextlib.suppress(RuntimeError):  # loop already closed: nobody is waiting
                self._loop.call_soon_threadsafe(_settle, future, err)

        self._producer.send(topic, key, value, headers, on_delivery=done)
        await future

    def close(self, timeout: float) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        try:
            self._producer.flush(timeout)
        except Exception as exc:  # failures were already answered with AE; say so and go
            log.error("producer flush at shutdown: %s", exc)


# broker answers about the message itself: sending it again cannot help, it is refused (AR) and dead-lettered
_REFUSED_MESSAGE = {KafkaError.MSG_SIZE_TOO_LARGE, KafkaError.INVALID_MSG, KafkaError.INVALID_MSG_SIZE}


def _settle(future: asyncio.Future, err) -> None:
    if future.done():
        return
    if err is None:
        future.set_result(None)
    elif err.code() in _REFUSED_MESSAGE:
        future.set_exception(RefusedEventError(f"Kafka refused the event itself ({err.name()}): it was not stored"))
    else:
        future.set_exception(DeliveryError(f"Kafka did not acknowledge the event ({err.str()}); resend later"))
