"""The README's recipe for rebuilding ClickHouse from Kafka, as written: a new database and a new sink group
fill from the topics alone, without the stream worker, to the same current records, rejects and manifests."""

from __future__ import annotations

import dataclasses

from dids.kernel.ports import free_port
from dids.kernel.topics import changelog_spec, ensure_topics
from producers.extract.writer import write_csv
from producers.generator import SimulationConfig, records
from producers.submit import submit_file
from sinks.clickhouse import connect
from sinks.migrate import migrate
from tests.clock import NOW
from tests.integration.helpers import poll

SUMMARY = (
    "SELECT (SELECT count() FROM examinations FINAL), (SELECT uniqExact(event_id) FROM rejects), "
    "(SELECT count() FROM current_examinations), (SELECT any(status) FROM submissions FINAL)"
)


def test_a_new_database_and_sink_group_rebuild_clickhouse_from_the_topics(settings_factory, service_factory, tmp_path):
    settings = settings_factory()
    ensure_topics(settings, extra=[changelog_spec(settings)])
    migrate(settings)
    worker = service_factory(settings, "streams", ready_port=settings.streams_metrics_port)
    sink = service_factory(settings, "sink", ready_port=settings.sink_metrics_port)
    path = tmp_path / "extract.csv"
    write_csv(records(SimulationConfig(seed=12, providers=2, invalid_rate=0.1), 400, NOW), path)
    assert submit_file(settings, path, period=NOW.strftime("%Y-%m"), received=NOW).record_count == 400
    client = connect(settings)
    stored = "SELECT (SELECT count() FROM examinations FINAL) + (SELECT uniqExact(event_id) FROM rejects)"
    assert poll(lambda: client.command(stored), 400, timeout=120) == 400
    status = "SELECT any(status) FROM submissions FINAL"
    assert poll(lambda: client.command(status), "accepted", timeout=60) == "accepted"
    original = tuple(client.query(SUMMARY).result_rows[0])
    worker.stop(timeout=60)
    sink.stop(timeout=60)

    rebuilt = dataclasses.replace(
        settings,
        clickhouse_database=settings.clickhouse_database + "_rebuilt",
        sink_group=settings.sink_group + "-rebuilt",
        sink_metrics_port=free_port(),
    )
    migrate(rebuilt)
    service_factory(rebuilt, "sink", ready_port=rebuilt.sink_metrics_port)
    again = connect(rebuilt)
    assert poll(lambda: tuple(again.query(SUMMARY).result_rows[0]), original, timeout=120) == original
    assert original[0] > 0 and original[1] > 0 and original[3] == "accepted"
