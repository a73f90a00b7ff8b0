"""The Kafka broker stops for a while in the middle of the stream and comes back, while poison
messages, redelivered duplicates and out-of-order lifecycle events arrive on both sides of the
outage. After recovery the tables hold exactly what the national rules accept and reject: every
accepted examination once, every rejected one in rejects, every undecodable message in the
dead-letter topic, and no row twice.

The broker here is private to the test (its own ports and data directory): stopping the session
broker would pull the floor from under every other test. The test also plays the supervisor
(docker compose's ``restart: unless-stopped``): a worker whose liveness guard finds it stuck after the
restart exits, and is started again."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from deploy.local_kafka import start_broker
from dids.kernel import topics
from dids.kernel.keys import event_key, record_key
from dids.kernel.ports import free_port
from dids.kernel.producer import EventProducer
from dids.kernel.topics import changelog_spec, ensure_topics
from producers.generator import SimulationConfig, extract_examinations
from producers.simulate import record_events
from schemas.catalog import EXAMINATION_EVENT, default_catalog
from sinks.clickhouse import connect
from sinks.migrate import migrate
from tests.clock import NOW
from tests.integration.helpers import poll
from tests.integration.kafka_tools import consume

N = 1200
POISON = [b"not avro at all", b"\xc3\x01" + b"\x00" * 8 + b"unknown fingerprint", b""]
OUTAGE_SECONDS = 15


@pytest.fixture
def private_broker(tmp_path):
    """The test's own broker. Asked for before ``service_factory``, so it is torn down after the worker
    and the sink (stopping them once their broker was gone took 30 s)."""
    data = tmp_path / "kafka"
    port, controller = free_port(), free_port()
    broker = start_broker(data, port, controller, data / "broker.log")
    yield broker, data, port, controller
    broker.stop()


def test_broker_restart_with_poison_duplicates_and_reordering(private_broker, settings_factory, service_factory):
    broker, data, port, controller = private_broker
    settings = settings_factory(kafka_bootstrap=broker.bootstrap, streams_liveness_seconds=30)
    _run(settings, service_factory, data, port, controller, broker)


def _run(settings, service_factory, data, port, controller, broker):
    ensure_topics(settings, extra=[changelog_spec(settings)])
    migrate(settings)
    ports = {"streams": settings.streams_metrics_port, "sink": settings.sink_metrics_port}
    running = {name: service_factory(settings, name, ready_port=port) for name, port in ports.items()}
    restarts = []

    def supervised(fn):
        """``fn`` after restarting any service that exited, as a supervisor would."""
        for name, proc in running.items():
            if not proc.alive():
                restarts.append(name)
                running[name] = service_factory(settings, name, ready_port=ports[name])
        return fn()

    now = NOW
    config = SimulationConfig(seed=23, providers=3, invalid_rate=0.05)
    broken = {ex.index for ex in extract_examinations(config, N, now) if ex.broken_rule}
    performed = list(record_events(config, N, now))
    # every tenth examination: its report arrives *before* the test itself (reordered); the report
    # is the later event, so it must win (its event time is the row's version) and the earlier
    # "performed" event counts as stale
    reported = {
        i: dict(
            e, event_id=e["event_id"] + "-r", event_type="reported", event_time=e["event_time"] + timedelta(seconds=1)
        )
        for i, e in enumerate(performed)
        if i % 10 == 0
    }
    accepted = N - len(broken)
    # a reject per broken examination; an event without a site code or accession number cannot be
    # tied to an examination, so it is judged alone: a reordered one is rejected twice, once per event
    rejected = sum(2 if i in reported and not _keyed(performed[i]) else 1 for i in broken)

    catalog = default_catalog()
    source = settings.topic(topics.RIS_EVENTS)

    def send(producer, indexes, *, with_poison=False):
        for i in indexes:
            if i in reported:
                producer.send(
                    source, key=event_key(reported[i]).encode(), value=catalog.encode(EXAMINATION_EVENT, reported[i])
                )
            e = performed[i]
            producer.send(source, key=event_key(e).encode(), value=catalog.encode(EXAMINATION_EVENT, e))
        if with_poison:
            for j, value in enumerate(POISON):
                producer.send(source, key=f"poison|{j}|{indexes[0]}".encode(), value=value)
        producer.flush()

    half = N // 2
    producer = EventProducer(settings)
    send(producer, range(half), with_poison=True)
    send(producer, range(0, half, 7))  # redelivered duplicates: same event ids
    client = connect(settings)
    first_half = half - len([i for i in broken if i < half])
    poll(lambda: client.command("SELECT count() FROM examinations FINAL WHERE status = 'active'"), first_half, 180)

    broker.stop()
    time.sleep(OUTAGE_SECONDS)  # streams worker and sink keep running against a broker that is gone
    restarted = start_broker(data, port, controller, data / "broker.log")
    broker.process = restarted.process  # the fixture stops whichever broker runs now

    producer = EventProducer(settings)
    send(producer, range(half, N), with_poison=True)
    send(producer, range(half, N, 7))
    # polled through the supervisor: a service that exits after the outage (the sink, when its commit
    # meets a group that moved on: UNKNOWN_MEMBER_ID) is started again, as compose would
    active = poll(
        lambda: supervised(lambda: client.command("SELECT count() FROM examinations FINAL WHERE status = 'active'")),
        accepted,
        240,
    )
    rejects = poll(lambda: supervised(lambda: client.command("SELECT uniqExact(event_id) FROM rejects")), rejected, 60)
    dead = consume(settings, settings.topic(topics.DLQ), 2 * len(POISON), timeout=60)
    # at-least-once: a poison message re-read after the outage is dead-lettered again; its source
    # position (headers) says it is the same one
    dead_sources = {(dict(m.headers())["dids.source.partition"], dict(m.headers())["dids.source.offset"]) for m in dead}
    # the sink inserts each Kafka message once; the stream worker is at-least-once, so after a rewind
    # it may publish a version again (a new message): the current view counts each examination once
    rows, messages = client.query(
        "SELECT count(), uniqExact(kafka_partition, kafka_offset) FROM examinations"
    ).result_rows[0]
    current, keys = client.query("SELECT count(), uniqExact(record_key) FROM examinations FINAL").result_rows[0]
    versions_now = dict(client.query("SELECT record_key, version FROM examinations FINAL").result_rows)
    reordered = [i for i in reported if i not in broken]
    reports = sum(
        versions_now.get(event_key(reported[i])) == int(reported[i]["event_time"].timestamp() * 1000) for i in reordered
    )
    print(
        f"\nbroker down {OUTAGE_SECONDS}s mid-stream: {N} examinations sent, {active} accepted (expected {accepted}), "
        f"{rejects} rejected (expected {rejected}), {len(dead_sources)} messages dead-lettered (expected "
        f"{2 * len(POISON)}; {len(dead)} dead letters with redeliveries), "
        f"{rows} examination rows for {messages} messages, {current} current rows for {keys} examinations, "
        f"{reports} of {len(reordered)} reordered reports won, services restarted by the supervisor: {restarts}"
    )
    assert active == accepted
    assert rejects == rejected
    assert len(dead_sources) == 2 * len(POISON)
    assert rows == messages  # no message inserted twice
    assert current == keys  # no examination twice
    assert reports == len(reordered)


def _keyed(event) -> bool:
    key = record_key(event.get("site_code_imaging"), event.get("radiological_accession_num"))
    return not key.startswith("|") and not key.endswith("|")
