"""A second stream worker joins, and later leaves, while events are flowing: every examination still
comes out (at least once). Found by `dids bench --workers 2`, where the join rebalanced mid-extract
and a contiguous run of ~3,000 events on the moved partition was committed without being processed."""

from __future__ import annotations

import threading
import time

from dids.kernel import topics
from dids.kernel.keys import event_key
from dids.kernel.ports import free_port
from dids.kernel.producer import EventProducer
from dids.kernel.topics import changelog_spec, ensure_topics
from producers.generator import SimulationConfig
from producers.simulate import record_events
from schemas.catalog import EXAMINATION_EVENT, default_catalog
from tests.clock import NOW
from tests.integration.helpers import metric, poll
from tests.integration.kafka_tools import consume_keys

N = 20_000
RATE = 5000.0  # events/s: a backlog builds while the second worker joins, as with a submitted extract


def _produce(settings, events: list[dict]) -> None:
    catalog, producer = default_catalog(), EventProducer(settings)
    topic = settings.topic(topics.RIS_EVENTS)
    started = time.monotonic()
    for i, event in enumerate(events):
        ahead = started + i / RATE - time.monotonic()
        if ahead > 0:
            producer.poll(ahead)
        producer.send(topic, key=event_key(event).encode(), value=catalog.encode(EXAMINATION_EVENT, event))
    producer.flush()


def _processed(port: int) -> float:
    try:
        return metric(port, "dids_streams_events_in_total")
    except OSError:  # not serving metrics yet
        return 0.0


def test_workers_joining_and_leaving_mid_stream_lose_no_examination(settings_factory, service_factory):
    settings = settings_factory(topic_partitions=2)
    ensure_topics(settings, extra=[changelog_spec(settings)])
    first = service_factory(settings, "streams", ready_port=settings.streams_metrics_port)
    events = list(record_events(SimulationConfig(seed=23, providers=4), N, NOW))
    keys = {event_key(e) for e in events}
    # the second worker joins a few seconds after the events start, before the first has committed
    # both partitions: the partition it takes may have no committed offset yet (the case that lost events)
    port = free_port()
    second = service_factory(settings, "streams", "--metrics-port", str(port), ready_port=port)  # serving metrics:
    # Faust is about to join the group, and the events start now
    sender = threading.Thread(target=_produce, args=(settings, events))
    sender.start()
    assert poll(lambda: _processed(port) > 0, True, timeout=90), "the second worker never processed an event"
    second.stop()  # and leaves mid-stream: its partition moves back
    sender.join(timeout=120)
    assert first.alive()

    # every key comes out on one of the two topics: waiting for len(keys) records on the examinations
    # topic alone waited out its whole timeout, as the rejected keys are on the other
    out = consume_keys(settings, [settings.topic(topics.EXAMINATIONS), settings.topic(topics.REJECTS)], keys)
    seen = {m.key().decode() for m in out}
    missing = keys - seen
    print(f"\n{N} examinations sent; {len(seen & keys)} came out ({len(out)} records), {len(missing)} missing")
    assert not missing, f"{len(missing)} examinations never processed, e.g. {sorted(missing)[:3]}"
    assert seen <= keys  # nothing came out that was not sent
