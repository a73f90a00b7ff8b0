"""The pipeline, for real: simulated RIS events -> Kafka -> Faust worker (rules, derivations, privacy) ->
Kafka -> sink -> ClickHouse. N events in: every accepted one queryable exactly once, every deliberately
broken one in the rejects table with the rule it breaks."""

from __future__ import annotations

import time
import urllib.request

from dids.kernel.keys import event_key
from dids.kernel.topics import ensure_topics
from producers.generator import SimulationConfig, extract_examinations
from producers.simulate import record_events, run_simulation
from sinks.clickhouse import connect
from sinks.migrate import migrate
from tests.clock import NOW
from tests.integration.helpers import probe

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
    streams = service_factory(settings, "streams", ready_port=settings.streams_metrics_port)
    sink = service_factory(settings, "sink", ready_port=settings.sink_metrics_port)

    config = SimulationConfig(seed=11, providers=4, invalid_rate=0.05)
    now = NOW
    broken = {ex.index: ex.broken_rule for ex in extract_examinations(config, N, now) if ex.broken_rule}
    keys = [event_key(e) for e in record_events(config, N, now)]
    good_keys = {k for i, k in enumerate(keys) if i not in broken}
    assert len(good_keys) == N - len(broken) and broken  # every good examination has its own key

    started = time.monotonic()
    stats = run_simulation(settings, config, mode="records", count=N, now=now)
    assert stats.events == N

    client = connect(settings)
    accepted = N - len(broken)
    _poll(lambda: client.command("SELECT count() FROM examinations"), accepted, 180, "accepted rows in ClickHouse")
    _poll(lambda: client.command("SELECT count() FROM rejects"), len(broken), 60, "rejects in ClickHouse")
    elapsed = time.monotonic() - started
    print(f"\nend to end: {N} events in {elapsed:.1f}s = {N / elapsed:,.0f} events/s")

    rows, unique = client.query("SELECT count(), uniqExact(record_key) FROM examinations").result_rows[0]
    assert (rows, unique) == (accepted, accepted)
    stored = {r[0] for r in client.query("SELECT record_key FROM examinations").result_rows}
    assert stored == good_keys
    # every broken record is rejected with the rule it breaks
    got = client.query("SELECT record_key, rejects FROM rejects").result_rows
    by_key = {k: set(codes) for k, codes in got}
    for i, rule in broken.items():
        assert rule in by_key.get(keys[i], set()), (keys[i], rule, by_key.get(keys[i]))
    # derivations arrived; no identifier exists as a column; persons are keyed hashes
    assert client.command("SELECT countIf(provider_code IS NULL OR modality IS NULL) FROM examinations") == 0
    # a sub-ICB for every registered patient (default practice codes such as V81999 have none)
    assert client.command("SELECT countIf(ccg_code IS NULL AND gp_code NOT LIKE 'V8199_') FROM examinations") == 0
    assert client.command("SELECT countIf(ccg_code IS NOT NULL) FROM examinations") > accepted / 2
    columns = {r[0] for r in client.query("DESCRIBE TABLE examinations").result_rows}
    assert not columns & {"nhs_number", "postcode", "person_birth_date", "date_of_birth"}
    assert (
        client.command(
            "SELECT countIf(person_id IS NOT NULL AND length(person_id) != 64 AND person_id != "
            "'U0000001') FROM examinations"
        )
        == 0
    )

    # the services count what they did
    _poll(lambda: _metric(settings.sink_metrics_port, "dids_sink_rows_total"), float(N), 30, "sink metric")
    assert _metric(settings.streams_metrics_port, "dids_streams_events_in_total") == N
    assert _metric(settings.streams_metrics_port, "dids_streams_records_out_total") == accepted
    assert _metric(settings.streams_metrics_port, "dids_streams_rejects_out_total") == len(broken)

    # both services say they are alive and ready (the readiness an orchestrator would probe)
    for port in (settings.streams_metrics_port, settings.sink_metrics_port):
        assert probe(port, "/health") == (200, "ok")
        assert probe(port, "/ready") == (200, "ok")

    # no patient identifier in any log line or metric label of the services
    identifiers = set()
    for rec in record_events(config, N, now):
        identifiers |= {rec["nhs_number"], rec["postcode"], rec["person_birth_date"]} - {None, ""}
    for text in (
        streams.log_file.read_text(errors="replace"),
        sink.log_file.read_text(errors="replace"),
        *(
            urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()
            for port in (settings.streams_metrics_port, settings.sink_metrics_port)
        ),
    ):
        leaked = [i for i in identifiers if i in text]
        assert not leaked, leaked[:3]
