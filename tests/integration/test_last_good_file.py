"""Last good file through the whole pipeline: two extract files for the same provider-month go
through dids submit -> Kafka -> stream worker -> sink -> ClickHouse; the second replaces the first
for that month and records of other months stay (real-time events on top of a file: test_warehouse_views)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from dids.kernel.topics import ensure_topics
from producers.extract.writer import write_csv
from producers.generator import SimulationConfig, records
from producers.submit import submit_file
from sinks.clickhouse import connect
from sinks.migrate import migrate
from tests.clock import NOW
from tests.integration.helpers import poll


def _month(rec):
    return (rec.get("diagnostic_test_date") or "")[:7] or None


def test_a_newer_file_replaces_the_provider_month(settings_factory, service_factory, tmp_path):
    settings = settings_factory()
    ensure_topics(settings)
    migrate(settings)
    service_factory(settings, "streams", ready_port=settings.streams_metrics_port)
    service_factory(settings, "sink", ready_port=settings.sink_metrics_port)

    rows = list(records(SimulationConfig(seed=21, providers=1, invalid_rate=0.0), 240, NOW))
    # the file's own month: its busiest, which holds enough records whatever day NOW falls on (the
    # latest month holds only a day's worth on the 1st or 2nd)
    period = Counter(m for m in map(_month, rows) if m).most_common(1)[0][0]
    in_period = [r for r in rows if _month(r) == period]
    others = [r for r in rows if _month(r) != period]
    assert len(in_period) > 20 and others
    kept = in_period[: len(in_period) // 2]  # the newer file drops half of the month's records

    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    write_csv(rows, first)
    write_csv(kept, second)
    a = submit_file(settings, first, period=period, submitter="RR8", received=NOW - timedelta(minutes=5))
    client = connect(settings)

    def current():
        return client.command("SELECT count() FROM current_examinations")

    assert poll(current, 240) == 240
    b = submit_file(settings, second, period=period, submitter="RR8", received=NOW)
    assert a.submission_id != b.submission_id

    expected = len(others) + len(kept)
    assert poll(current, expected) == expected, "the newer file should displace the dropped records"
    by_file = dict(
        client.query("SELECT ifNull(submission_id, ''), count() FROM current_examinations GROUP BY 1").result_rows
    )
    assert by_file == {a.submission_id: len(others), b.submission_id: len(kept)}
    assert client.command("SELECT count() FROM submissions FINAL") == 2
    assert client.command("SELECT count() FROM examinations FINAL WHERE status = 'active'") == 240  # nothing deleted
