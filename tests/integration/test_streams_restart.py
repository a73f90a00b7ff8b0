"""A restarted stream worker recovers its lifecycle table from the changelog topic and carries on:
redelivered events are recognised as duplicates (no new versions), later events apply on top."""

from __future__ import annotations

import time
import urllib.request
from datetime import timedelta

import pytest

from dids.kernel import topics
from dids.kernel.keys import event_key
from dids.kernel.producer import EventProducer
from dids.kernel.topics import changelog_spec, ensure_topics
from producers.extract.writer import write_csv
from producers.generator import SimulationConfig, events, extract_examinations, records
from producers.simulate import run_simulation
from producers.submit import submit_file
from schemas.catalog import EXAMINATION_EVENT, EXAMINATION_RECORD, default_catalog
from sinks.clickhouse import connect
from sinks.migrate import migrate
from tests.clock import NOW
from tests.integration.helpers import metric, poll
from tests.integration.kafka_tools import consume


def _metric(port: int, name: str, label: str) -> float:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name) and label in line)


def _wait_metric(port, name, label, expected, timeout=90.0):
    deadline = time.monotonic() + timeout
    value = _metric(port, name, label)
    while value < expected and time.monotonic() < deadline:
        time.sleep(0.5)
        value = _metric(port, name, label)
    return value


def test_restarted_worker_recovers_table_and_continues_without_duplicates(settings_factory, service_factory):
    settings = settings_factory()
    ensure_topics(settings, extra=[changelog_spec(settings)])
    config = SimulationConfig(seed=9, providers=2, invalid_rate=0.0, cancelled_rate=0.0, corrected_rate=0.0)
    performed = [e for e in events(config, now=NOW, limit=120) if e["event_type"] == "performed"][:40]
    reported = [
        dict(
            e,
            event_id=e["event_id"] + "-r",
            event_type="reported",
            event_time=e["event_time"] + timedelta(hours=2),
            service_report_date=(e["event_time"] + timedelta(hours=2)).date().isoformat(),
        )
        for e in performed
    ]
    catalog, producer = default_catalog(), EventProducer(settings)
    source = settings.topic(topics.RIS_EVENTS)

    def send(evts):
        for e in evts:
            producer.send(source, key=event_key(e).encode(), value=catalog.encode(EXAMINATION_EVENT, e))
        producer.flush()

    first = service_factory(settings, "streams", ready_port=settings.streams_metrics_port)
    send(performed)
    assert _wait_metric(settings.streams_metrics_port, "dids_streams_merges_total", 'outcome="applied"', 40) == 40
    first.stop(timeout=60)  # graceful: offsets committed, changelog flushed

    second = service_factory(settings, "streams", ready_port=settings.streams_metrics_port)
    send(performed)  # redelivery of everything the first worker already merged
    send(reported)
    port = settings.streams_metrics_port
    assert _wait_metric(port, "dids_streams_merges_total", 'outcome="applied"', 40) >= 40
    # At-least-once: the first worker may have stopped before committing the offset of its last
    # events, so those arrive twice more (redelivered and resent): still duplicates, never new versions.
    duplicates = _wait_metric(port, "dids_streams_merges_total", 'outcome="duplicate"', 40)
    assert 40 <= duplicates <= 80, duplicates
    assert _metric(port, "dids_streams_merges_total", 'outcome="applied"') == 40  # only the reported ones
    assert second.alive()

    # the topic's last version of every examination is the reported one, and versions only grew
    out = [
        catalog.decode(m.value(), EXAMINATION_RECORD)
        for m in consume(settings, settings.topic(topics.EXAMINATIONS), 120)
    ]
    latest, versions = {}, {}
    for rec in out:
        versions.setdefault(rec["record_key"], set()).add((rec["version"], rec["event_type"]))
        if rec["record_key"] not in latest or rec["version"] >= latest[rec["record_key"]]["version"]:
            latest[rec["record_key"]] = rec
    assert len(latest) == 40
    assert {r["event_type"] for r in latest.values()} == {"reported"}
    # redelivered performed events were re-published with their original version, not a new one
    assert all(len(v) == 2 for v in versions.values()), versions


@pytest.mark.parametrize("arrival", ["events", "chunks"])
def test_worker_killed_mid_stream_loses_and_doubles_nothing(
    settings_factory, service_factory, tmp_path, monkeypatch, arrival
):
    """kill -9 while a few thousand events are being processed: no flush, no commit, the table's changelog
    cut wherever it was. The restarted worker recovers the table and re-reads from the committed offsets;
    every accepted examination reaches ClickHouse once, every rejected one is in rejects. The same whether
    the records come one a message (simulator) or as a submitted extract's chunks."""
    settings = settings_factory()
    ensure_topics(settings, extra=[changelog_spec(settings)])
    migrate(settings)
    port = settings.streams_metrics_port
    service_factory(settings, "sink", ready_port=settings.sink_metrics_port)
    worker = service_factory(settings, "streams", ready_port=port)
    n, now = 3000, NOW
    config = SimulationConfig(seed=31, providers=3, invalid_rate=0.05)
    rejected = sum(1 for ex in extract_examinations(config, n, now) if ex.broken_rule)
    if arrival == "events":
        run_simulation(settings, config, mode="records", count=n, now=now)
    else:
        monkeypatch.setattr("producers.submit.CHUNK_EVENTS", 150)  # ten chunks a partition: killed mid-file
        path = tmp_path / "extract.csv"
        write_csv(records(config, n, now), path)
        assert submit_file(settings, path, period=now.strftime("%Y-%m"), received=now).record_count == n
    processed = poll(lambda: metric(port, "dids_streams_events_in_total") >= n / 3, True, timeout=120)
    assert processed, "the worker never got a third of the way"
    at_kill = metric(port, "dids_streams_events_in_total")
    worker.kill()  # SIGKILL
    service_factory(settings, "streams", ready_port=port)

    client = connect(settings)
    active = poll(
        lambda: client.command("SELECT count() FROM examinations FINAL WHERE status = 'active'"), n - rejected
    )
    rejects = poll(lambda: client.command("SELECT uniqExact(event_id) FROM rejects"), rejected, timeout=60)
    rows, messages = client.query(
        "SELECT count(), uniqExact(kafka_partition, kafka_offset) FROM examinations"
    ).result_rows[0]
    current, keys = client.query("SELECT count(), uniqExact(record_key) FROM examinations FINAL").result_rows[0]
    print(
        f"\nworker killed -9 after {at_kill:.0f} of {n} events: {active} accepted (expected {n - rejected}), "
        f"{rejects} rejected (expected {rejected}), {rows} rows for {messages} messages, "
        f"{current} current rows for {keys} examinations"
    )
    assert (active, rejects) == (n - rejected, rejected)
    assert rows == messages and current == keys
