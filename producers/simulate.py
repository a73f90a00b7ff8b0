"""`dids simulate`: realistic RIS traffic from producers.generator, paced, published to Kafka."""

from __future__ import annotations

import itertools
import logging
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from dids.kernel import topics
from dids.kernel.producer import EventProducer
from dids.kernel.settings import Settings
from schemas.catalog import EXAMINATION_EVENT, default_catalog

log = logging.getLogger(__name__)

_NS = uuid.UUID("6f1c2a8e-3b7d-4c1e-9a55-0d1d5e0c7b21")


@dataclass(frozen=True)
class SimulationStats:
    events: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


def record_events(config, count: int | None, now: datetime) -> Iterator[dict[str, Any]]:
    """One event per examination in its final state (as an extract row would carry it)."""
    from producers.generator import records

    for i, record in enumerate(records(config, count if count is not None else 10**12, now)):
        event_time = now - timedelta(seconds=1) + timedelta(microseconds=i)
        yield {
            "event_id": str(uuid.uuid5(_NS, f"{config.seed}:{i}")),
            "event_type": "performed",
            "event_time": event_time,
            "received_time": now,
            "source": "simulator",
            "submission_id": None,
            "submitter_org": None,
            "row_number": None,
            **record,
        }


def event_stream(config, *, mode: str, count: int | None, now: datetime) -> Iterator[dict[str, Any]]:
    from producers.generator import events

    if mode == "records":
        return record_events(config, count, now)
    stream = events(config, now=now)
    return itertools.islice(stream, count) if count is not None else stream


def run_simulation(
    settings: Settings,
    config,
    *,
    mode: str = "lifecycle",
    rate: float = 0.0,
    duration: float = 0.0,
    count: int | None = None,
    now: datetime | None = None,
    progress=None,
    should_stop=None,
) -> SimulationStats:
    """Publish events until ``count`` or ``duration`` is reached (0 rate = as fast as possible)."""
    now = now or datetime.now(timezone.utc)
    on_event = (lambda _event: progress(1)) if progress is not None else None
    stream = event_stream(config, mode=mode, count=count, now=now)
    return publish(settings, stream, rate=rate, duration=duration, on_event=on_event, should_stop=should_stop)


def run_backfill(settings: Settings, config, end: datetime, *, on_event=None, should_stop=None) -> SimulationStats:
    """Publish each examination of ``config`` as it stands at ``end`` (``producers.history``), as fast
    as the broker takes them; ``on_event(event)`` after each (it may hold the publisher back)."""
    from producers.history import history_events

    return publish(settings, history_events(config, end), on_event=on_event, should_stop=should_stop)


def publish(
    settings: Settings,
    stream: Iterator[dict[str, Any]],
    *,
    rate: float = 0.0,
    duration: float = 0.0,
    on_event=None,
    should_stop=None,
) -> SimulationStats:
    """Publish ``stream`` to the RIS events topic, keyed by site and accession, at ``rate`` events a
    second (0 = as fast as possible) for at most ``duration`` seconds (0 = no limit)."""
    from dids.kernel.keys import event_key

    catalog = default_catalog()
    producer = EventProducer(settings)
    topic = settings.topic(topics.RIS_EVENTS)
    started = time.monotonic()
    sent = 0
    for event in stream:
        if (duration and time.monotonic() - started >= duration) or (should_stop and should_stop()):
            break
        if rate > 0:
            ahead = started + sent / rate - time.monotonic()
            if ahead > 0:
                producer.poll(ahead)
        producer.send(topic, key=event_key(event).encode(), value=catalog.encode(EXAMINATION_EVENT, event))
        sent += 1
        if on_event is not None:
            on_event(event)
    producer.flush()
    return SimulationStats(events=sent, seconds=time.monotonic() - started)
