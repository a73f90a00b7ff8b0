"""Thin Faust wiring: decode and derive with streams.process, then route. No domain logic here."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import faust
from prometheus_client import Counter, Histogram

from dids.metrics import LATENCY_BUCKETS
from schemas.catalog import default_catalog
from streams.process import DeadLetter, process_message

log = logging.getLogger(__name__)

EVENTS_IN = Counter("dids_streams_events_in_total", "Events read from the RIS events topic")
RECORDS_OUT = Counter("dids_streams_records_out_total", "Current records published to dids.examinations")
DEAD_LETTERS = Counter("dids_streams_dead_letters_total", "Messages sent to the dead-letter topic", ["error"])
LATENCY = Histogram(
    "dids_streams_latency_seconds", "Collector receipt to publication of the derived record", buckets=LATENCY_BUCKETS
)


@dataclass(frozen=True)
class Topics:
    events: faust.TopicT
    examinations: faust.TopicT
    dlq: faust.TopicT


def register(app: faust.App, t: Topics) -> None:
    catalog = default_catalog()

    @app.agent(t.events, name="examination_events")
    async def examination_events(stream):
        async for event in stream.events():
            EVENTS_IN.inc()
            msg = event.message
            result = process_message(catalog, event.value)
            if isinstance(result, DeadLetter):
                DEAD_LETTERS.labels(result.error).inc()
                log.warning("dead-lettered %s[%d]@%d: %s", msg.topic, msg.partition, msg.offset, result.error)
                await t.dlq.send(
                    key=event.key, value=event.value, headers=result.headers(msg.topic, msg.partition, msg.offset)
                )
                continue
            await t.examinations.send(key=result.key.encode(), value=result.value)
            RECORDS_OUT.inc()
            if msg.timestamp:
                LATENCY.observe(max(0.0, time.time() - msg.timestamp))
