"""A send the broker refuses stops the stream worker before the offset of its event is committed.

The examinations topic is given a 64-byte message limit, so every record the worker publishes is
refused by the broker (MESSAGE_TOO_LARGE, not retried). Before, Faust logged the failure and committed
the source offsets anyway: those examinations were lost for good. Now the worker exits at once, nothing
is committed past the refused sends, and once the limit is lifted a new worker publishes every record."""

from __future__ import annotations

from confluent_kafka import Consumer, TopicPartition

from dids.kernel import topics
from dids.kernel.kafka import client_config
from dids.kernel.topics import changelog_spec, ensure_topics
from producers.generator import SimulationConfig
from producers.simulate import run_simulation
from streams.runtime.crash_only import EXIT_SEND_FAILED
from tests.clock import NOW
from tests.conftest import read_log
from tests.integration.helpers import poll
from tests.integration.kafka_tools import consume, set_topic_config

N = 20


def _committed(settings, topic: str) -> int:
    consumer = Consumer(client_config(settings, **{"group.id": settings.streams_app_id}))
    try:
        parts = [TopicPartition(topic, p) for p in range(settings.topic_partitions)]
        return sum(max(tp.offset, 0) for tp in consumer.committed(parts, timeout=30))
    finally:
        consumer.close()


def test_a_refused_send_is_never_committed_past(settings_factory, service_factory, tmp_path):
    settings = settings_factory()
    ensure_topics(settings, extra=[changelog_spec(settings)])
    records = settings.topic(topics.EXAMINATIONS)
    set_topic_config(settings, records, "max.message.bytes", "64")
    worker = service_factory(settings, "streams", ready_port=settings.streams_metrics_port)
    config = SimulationConfig(seed=31, providers=1, invalid_rate=0.0)
    run_simulation(settings, config, mode="records", count=N, now=NOW)

    assert poll(worker.alive, False, 120) is False, "the worker should stop on the refused send"
    log = read_log(worker.log_file)
    assert "a send to Kafka failed" in log, log[-3000:]
    assert worker.popen.returncode == EXIT_SEND_FAILED
    source = settings.topic(topics.RIS_EVENTS)
    assert _committed(settings, source) == 0, "no offset may be committed past a refused send"

    set_topic_config(settings, records, "max.message.bytes", str(1 << 20))
    service_factory(settings, "streams", ready_port=settings.streams_metrics_port)
    published = consume(settings, records, N, timeout=120)
    keys = {m.key() for m in published}
    print(f"\nworker stopped on the refused send with nothing committed; after restart {len(keys)} of {N} records")
    assert len(keys) == N
