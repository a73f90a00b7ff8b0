"""Chunk messages (many events in one message, as `dids submit` writes them) against the real broker, stream
worker, sink and ClickHouse engine: hostile chunks are dead-lettered with a reason, events written to the
wrong partition still meet their own state, and a resent chunk changes nothing."""

from __future__ import annotations

from dids.kernel import topics
from dids.kernel.keys import event_key, partition_of
from dids.kernel.producer import EventProducer
from dids.kernel.topics import changelog_spec, ensure_topics
from producers.generator import SimulationConfig, records
from schemas.catalog import EXAMINATION_CHUNK, default_catalog
from sinks.clickhouse import connect
from sinks.migrate import migrate
from tests.clock import NOW
from tests.integration.helpers import metric, poll
from tests.integration.kafka_tools import consume


def _events(n: int, seed: int) -> list[dict]:
    out = []
    for i, rec in enumerate(records(SimulationConfig(seed=seed, providers=2, invalid_rate=0.0), n, NOW), start=1):
        out.append(
            dict(
                rec,
                event_id=f"chunk-test-{seed}-{i}",
                event_type="submitted",
                event_time=NOW,
                received_time=NOW,
                source="extract",
                submission_id=f"sub-{seed}",
                submitter_org=None,
                row_number=i,
                duplicate_in_submission=False,
            )
        )
    return out


def test_hostile_misplaced_and_resent_chunks(settings_factory, service_factory):
    settings = settings_factory()
    ensure_topics(settings, extra=[changelog_spec(settings)])
    migrate(settings)
    port = settings.streams_metrics_port
    service_factory(settings, "streams", ready_port=port)
    service_factory(settings, "sink", ready_port=settings.sink_metrics_port)
    catalog, producer = default_catalog(), EventProducer(settings)
    source = settings.topic(topics.RIS_EVENTS)

    empty = catalog.encode(EXAMINATION_CHUNK, {"submission_id": "s", "chunk": 0, "events": []})
    truncated = catalog.encode(EXAMINATION_CHUNK, {"submission_id": "s", "chunk": 1, "events": _events(3, 1)})[:-40]
    producer.send(source, key=b"s|0", value=empty, partition=0)
    producer.send(source, key=b"s|1", value=truncated, partition=0)

    # every event written to partition 0, whichever partition its key belongs to
    events = _events(60, 2)
    misplaced = sum(partition_of(event_key(e).encode(), settings.topic_partitions) != 0 for e in events)
    assert 0 < misplaced < len(events)
    chunk = catalog.encode(EXAMINATION_CHUNK, {"submission_id": "sub-2", "chunk": 0, "events": events})
    producer.send(source, key=b"sub-2|0", value=chunk, partition=0)
    producer.flush()

    dead = {dict(m.headers())["dids.error"].decode() for m in consume(settings, settings.topic(topics.DLQ), 2)}
    assert dead == {"EmptyChunkError", "CorruptMessageError"}
    client = connect(settings)
    stored = "SELECT (SELECT count() FROM examinations FINAL) + (SELECT uniqExact(event_id) FROM rejects)"
    assert poll(lambda: client.command(stored), len(events), timeout=90) == len(events)
    assert metric(port, "dids_streams_forwarded_events_total") == misplaced
    # the forwarded events' states live on their own partition: a resend of the chunk is all duplicates
    producer.send(source, key=b"sub-2|0", value=chunk, partition=0)
    producer.flush()
    duplicates = poll(lambda: metric(port, "dids_streams_merges_total", 'outcome="duplicate"'), len(events), 90)
    assert duplicates == len(events)
    assert client.command(stored) == len(events)
    # each forwarded event counts once, where it is judged
    assert metric(port, "dids_streams_events_in_total") == 2 + 2 * len(events)


def test_a_backlog_of_chunks_is_judged_in_bounded_batches_while_the_liveness_guard_watches(
    settings_factory, service_factory
):
    """A worker started on a backlog of chunk messages: while it judges one batch the next fills, and
    measured in messages that could be every chunk there is (36,000 events: ~20 s of work, judged before
    the worker said it had progressed). Batches are bounded in events and each judged part counts as
    progress, so the liveness guard (6 s here) does not take a busy worker for a stuck one."""
    settings = settings_factory(streams_liveness_seconds=6)
    ensure_topics(settings, extra=[changelog_spec(settings)])
    migrate(settings)
    catalog, producer = default_catalog(), EventProducer(settings)
    source = settings.topic(topics.RIS_EVENTS)
    events = _events(36_000, 5)
    for i in range(0, len(events), 1000):
        chunk = {"submission_id": "sub-5", "chunk": i // 1000, "events": events[i : i + 1000]}
        producer.send(source, key=f"sub-5|{i // 1000}".encode(), value=catalog.encode(EXAMINATION_CHUNK, chunk))
    producer.flush()
    worker = service_factory(settings, "streams", ready_port=settings.streams_metrics_port)
    service_factory(settings, "sink", ready_port=settings.sink_metrics_port)
    client = connect(settings)
    stored = "SELECT (SELECT count() FROM examinations FINAL) + (SELECT uniqExact(event_id) FROM rejects)"
    assert poll(lambda: client.command(stored), len(events), timeout=240) == len(events)
    assert worker.alive(), worker.log_file.read_text()[-2000:]
    assert "worker stuck" not in worker.log_file.read_text()
