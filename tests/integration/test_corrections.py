"""A correction that moves the test date to another month, then a cancellation, end to end: ClickHouse's
current view (FINAL) holds exactly one version of the examination, the last one, and after merging the
table itself holds one row (every version sits in the partition of the first accepted test date)."""

from __future__ import annotations

from datetime import timedelta

from dids.kernel import topics
from dids.kernel.keys import event_key
from dids.kernel.producer import EventProducer
from dids.kernel.topics import changelog_spec, ensure_topics
from producers.generator import SimulationConfig, events
from schemas.catalog import EXAMINATION_EVENT, default_catalog
from sinks.clickhouse import connect
from sinks.migrate import migrate
from tests.clock import NOW
from tests.integration.helpers import poll


def _current(client, key):
    return client.query(
        "SELECT status, diagnostic_test_date, first_test_date FROM examinations FINAL WHERE record_key = {k:String}",
        parameters={"k": key},
    ).result_rows


def test_moved_then_cancelled_examination_has_one_current_row(settings_factory, service_factory):
    settings = settings_factory()
    ensure_topics(settings, extra=[changelog_spec(settings)])
    migrate(settings)
    service_factory(settings, "streams", ready_port=settings.streams_metrics_port)
    service_factory(settings, "sink", ready_port=settings.sink_metrics_port)

    base = next(
        e
        for e in events(SimulationConfig(seed=13, providers=1, invalid_rate=0.0), now=NOW)
        if e["event_type"] == "performed"
    )
    day = (NOW - timedelta(days=3)).date()
    moved_day = (NOW - timedelta(days=40)).date()  # another month
    perf = dict(
        base,
        event_time=NOW - timedelta(hours=3),
        received_time=NOW - timedelta(hours=3),
        diagnostic_test_request_date=str(moved_day),
        diag_test_request_rec_date=str(moved_day),
        diagnostic_test_date=str(day),
        service_report_date=str(day),
    )
    moved = dict(
        perf,
        event_id=perf["event_id"] + "-m",
        event_type="corrected",
        event_time=NOW - timedelta(hours=2),
        received_time=NOW - timedelta(hours=2),
        diagnostic_test_date=str(moved_day),
        service_report_date=str(moved_day),
    )
    cancel = dict(
        moved,
        event_id=perf["event_id"] + "-c",
        event_type="cancelled",
        event_time=NOW - timedelta(hours=1),
        received_time=NOW - timedelta(hours=1),
    )
    key = event_key(perf)
    catalog, producer = default_catalog(), EventProducer(settings)
    client = connect(settings)

    def send(e):
        producer.send(settings.topic(topics.RIS_EVENTS), key=key.encode(), value=catalog.encode(EXAMINATION_EVENT, e))
        producer.flush()

    send(perf)
    assert poll(lambda: _current(client, key), [("active", day, day)], timeout=90) == [("active", day, day)]
    send(moved)
    assert poll(lambda: _current(client, key), [("active", moved_day, day)], timeout=90) == [("active", moved_day, day)]
    send(cancel)
    final = poll(lambda: [r[0] for r in _current(client, key)], ["cancelled"], timeout=90)
    assert final == ["cancelled"]
    assert client.command("SELECT count() FROM examinations FINAL WHERE status = 'active'") == 0
    # merges replace old versions only within a partition: all versions must share one
    client.command("OPTIMIZE TABLE examinations FINAL")
    assert client.command("SELECT count() FROM examinations WHERE record_key = {k:String}", parameters={"k": key}) == 1
