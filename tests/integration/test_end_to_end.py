"""The walking skeleton, for real: simulated RIS events -> Kafka -> Faust worker -> Kafka -> sink ->
ClickHouse. N events in, exactly N rows queryable, each key once."""

from __future__ import annotations

import time
import urllib.request
from datetime import datetime, timezone

from producers.generator import SimulationConfig, event_key
from producers.simulate import record_events, run_simulation
from sinks.clickhouse import connect
from sinks.migrate import migrate
from streams.topics import ensure_topics

N = 3000


def _poll(fn, expected, timeout: float, what: str):
    """Bounded wait for a condition, not a timing assertion: fails only if it never happens."""
    deadline = time.monotonic() + timeout
    value = fn()
    while value != expected and time.monotonic() < deadline:
        time.sleep(0.5)
        value = fn()
    assert value == expected, f"{what}: got {value}, expected {expected} within {timeout:.0f}s"
    return value


def _metric(port: int, name: str) -> float:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name) and not line.startswith("#")
    )


def test_simulated_events_reach_clickhouse_exactly_once(settings_factory, service_factory):
    settings = settings_factory()
    ensure_topics(settings)
    migrate(settings)
    service_factory(settings, "streams", ready_port=settings.streams_metrics_port)
    service_factory(settings, "sink", ready_port=settings.sink_metrics_port)

    config = SimulationConfig(seed=11, providers=4, invalid_rate=0.0)
    now = datetime.now(timezone.utc)
    sent_keys = {event_key(e) for e in record_events(config, N, now)}
    assert len(sent_keys) == N  # the generator gives every examination its own key

    started = time.monotonic()
    stats = run_simulation(settings, config, mode="records", count=N, now=now)
    assert stats.events == N

    client = connect(settings)
    _poll(lambda: client.command("SELECT count() FROM examinations"), N, 180, "rows in ClickHouse")
    elapsed = time.monotonic() - started
    print(f"\nend to end: {N} events in {elapsed:.1f}s = {N / elapsed:,.0f} events/s")

    rows, keys = client.query("SELECT count(), uniqExact(record_key) FROM examinations").result_rows[0]
    assert (rows, keys) == (N, N)
    stored = {r[0] for r in client.query("SELECT record_key FROM examinations").result_rows}
    assert stored == sent_keys
    # derivations arrived: every row has a provider and a test month; no identifiers exist as columns
    assert client.command("SELECT countIf(provider_code IS NULL OR month_of_test IS NULL) FROM examinations") == 0
    columns = {r[0] for r in client.query("DESCRIBE TABLE examinations").result_rows}
    assert not columns & {"nhs_number", "postcode", "person_birth_date"}

    # the services count what they did
    _poll(lambda: _metric(settings.sink_metrics_port, "dids_sink_rows_total"), float(N), 30, "sink metric")
    assert _metric(settings.streams_metrics_port, "dids_streams_events_in_total") == N
    assert _metric(settings.streams_metrics_port, "dids_streams_records_out_total") == N
