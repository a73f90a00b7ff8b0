"""Scale-out: two stream workers and two sinks over four partitions build exactly the table one
worker and one sink build from the same RIS traffic (lifecycle events with corrections and
cancellations, so per-examination order matters)."""

from __future__ import annotations

from dids.kernel.ports import free_port
from dids.kernel.topics import changelog_spec, ensure_topics
from producers.generator import SimulationConfig
from producers.simulate import run_simulation
from sinks.clickhouse import connect
from sinks.migrate import migrate
from tests.clock import NOW
from tests.integration.helpers import metric, poll

N = 4000
CONFIG = SimulationConfig(seed=17, providers=4, invalid_rate=0.03, cancelled_rate=0.05, corrected_rate=0.05)


def _start(settings_factory, service_factory, workers: int, sinks: int):
    settings = settings_factory(topic_partitions=4)
    ensure_topics(settings, extra=[changelog_spec(settings)])
    migrate(settings)
    streams_ports = [settings.streams_metrics_port] + [free_port() for _ in range(workers - 1)]
    sink_ports = [settings.sink_metrics_port] + [free_port() for _ in range(sinks - 1)]
    for port in streams_ports:
        service_factory(settings, "streams", "--metrics-port", str(port), ready_port=port)
    for port in sink_ports:
        service_factory(settings, "sink", "--metrics-port", str(port), ready_port=port)
    assert run_simulation(settings, CONFIG, mode="lifecycle", count=N, now=NOW).events == N
    return connect(settings), streams_ports, sink_ports


def _tables(client):
    current = client.query(
        "SELECT record_key, version, status, event_type, modality, provider_code, test_request_to_test "
        "FROM examinations FINAL ORDER BY record_key"
    ).result_rows
    rejects = client.query("SELECT record_key, version, rejects FROM rejects FINAL ORDER BY record_key, version")
    return current, rejects.result_rows


def test_two_workers_and_two_sinks_build_the_same_table_as_one_of_each(settings_factory, service_factory):
    # one of each: done when the worker has read every event and the sink inserted all it published
    client, streams_ports, sink_ports = _start(settings_factory, service_factory, workers=1, sinks=1)
    assert poll(lambda: metric(streams_ports[0], "dids_streams_events_in_total"), N) == N
    # an event is counted in as it joins a batch and out when the batch is judged (one merge outcome
    # each): reading the outputs before the last batch was judged undercounted them, and the wait
    # below then ran to its timeout and failed
    assert poll(lambda: metric(streams_ports[0], "dids_streams_merges_total"), N) == N
    published = sum(
        metric(streams_ports[0], m) for m in ("dids_streams_records_out_total", "dids_streams_rejects_out_total")
    )
    # (rows are not counted: ReplacingMergeTree merges fold the versions of an examination together)
    assert poll(lambda: metric(sink_ports[0], "dids_sink_rows_total"), published) == published
    expected = _tables(client)
    assert len(expected[0]) > N / 10 and expected[1]  # the traffic has examinations and rejects

    # two of each: the second worker's arrival rebalances mid-stream and some events are processed
    # twice (at least once); the tables must still come out identical
    client, streams_ports, _ = _start(settings_factory, service_factory, workers=2, sinks=2)
    got = poll(lambda: _tables(client), expected, timeout=180)
    delivered = sum(metric(p, "dids_streams_events_in_total") for p in streams_ports)
    print(f"\n1x1: {len(expected[0])} examinations, {len(expected[1])} rejects from {N} events;")
    print(f"2x2: {len(got[0])} examinations, {len(got[1])} rejects, {delivered:.0f} deliveries of {N} events")
    assert got[0] == expected[0]
    assert got[1] == expected[1]
