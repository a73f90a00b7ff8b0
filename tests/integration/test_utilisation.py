"""Equipment utilisation for real: the test's time from an HL7 ORU (OBR-7 ``YYYYMMDDHHMM``) and from a DIDS
v2 extract travels through Kafka, the stream worker and the sink into ``utilisation_hourly`` at the right
weekday and hour; a record with a date only counts on its day and in no hour.

The HL7 messages go through the listener's own mapping (``map_message``, what ``dids hl7`` runs on each
frame) with a received time chosen here, so the national submission-window rules judge them against a fixed
present (``tests/clock.py``) rather than the wall clock; the listener's socket side is
``tests/integration/test_hl7.py``'s.
"""

from __future__ import annotations

import csv
from collections import Counter
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import hl7
import pytest

from dids.kernel import topics
from dids.kernel.items import CSV_HEADERS
from dids.kernel.keys import event_key
from dids.kernel.producer import EventProducer
from dids.kernel.topics import ensure_topics
from producers.generator import ITEM_FIELDS, SimulationConfig, events
from producers.hl7.mapping import map_message
from producers.hl7.writer import write_message
from producers.submit import submit_file
from schemas.catalog import EXAMINATION_EVENT, default_catalog
from sinks.clickhouse import connect
from sinks.migrate import migrate
from tests.clock import NOW
from tests.integration.helpers import poll

UK = ZoneInfo("Europe/London")


def _reported(provider: str, n: int) -> list[dict]:
    """``n`` valid examinations of ``provider`` tested in one month, as their 'reported' events carry them
    (every item)."""
    config = SimulationConfig(seed=23, providers=2, invalid_rate=0.0, cancelled_rate=0.0, corrected_rate=0.0)
    found: list[dict] = []
    for event in events(config, now=NOW):
        if (
            event["event_type"] == "reported"
            and str(event["site_code_imaging"]).startswith(provider)
            and (not found or event["diagnostic_test_date"][:7] == found[0]["diagnostic_test_date"][:7])
        ):
            found.append(event)
            if len(found) == n:
                return found
    raise AssertionError(f"the simulator gave fewer than {n} reported examinations of {provider}")


def _oru(event: dict, obr7: str) -> hl7.Message:
    """The event as an ORU^R01 (``producers.hl7.writer``) with OBR-7 replaced by ``obr7`` as sent."""
    segments = write_message(event).split("\r")
    for i, segment in enumerate(segments):
        if segment.startswith("OBR|"):
            fields = segment.split("|")
            fields[7] = obr7
            segments[i] = "|".join(fields)
    message = hl7.parse("\r".join(segments))
    assert str(message.segment("MSH")[9]).startswith("ORU^R01")
    return message


def _uk_offset(day: date, hour: int) -> str:
    offset = datetime(day.year, day.month, day.day, hour, tzinfo=UK).utcoffset()
    return "+01:00" if offset else "+00:00"


def _v2_csv(path, rows: list[tuple[dict, str]]) -> None:
    """A DIDS v2 CSV: the v1 headers with DIAGNOSTIC_TEST_DATE replaced by the start timestamp."""
    headers = ["CODED_PROCEDURE_START_TIMESTAMP" if h == "DIAGNOSTIC_TEST_DATE" else h for h in CSV_HEADERS]
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(headers)
        for event, start in rows:
            values = [event[item] or "" for item in ITEM_FIELDS]
            values[ITEM_FIELDS.index("diagnostic_test_date")] = start
            writer.writerow(values)


def test_the_tests_time_reaches_the_utilisation_view(settings_factory, service_factory, tmp_path):
    settings = settings_factory()
    ensure_topics(settings)
    migrate(settings)
    service_factory(settings, "streams", ready_port=settings.streams_metrics_port)
    service_factory(settings, "sink", ready_port=settings.sink_metrics_port)
    client = connect(settings)

    # HL7 from Leeds (RR8): what OBR-7 says -> the hour expected (None: date only)
    hl7_events = _reported("RR8", 4)
    cases = []
    for event, (time_part, hour) in zip(
        hl7_events,
        [("1430", 14), ("0805", 8), ("", None), ("0930+0500", None)],  # date only; an offset no UK clock shows
        strict=True,
    ):
        day = date.fromisoformat(event["diagnostic_test_date"])
        cases.append((event, day.strftime("%Y%m%d") + time_part, hour))
    catalog, producer = default_catalog(), EventProducer(settings)
    for event, obr7, _ in cases:
        received = event["received_time"] + timedelta(hours=1)
        (mapped,) = map_message(_oru(event, obr7), received)
        assert mapped["diagnostic_test_date"] == event["diagnostic_test_date"]  # the date is read as before
        producer.send(
            settings.topic(topics.RIS_EVENTS),
            key=event_key(mapped).encode(),
            value=catalog.encode(EXAMINATION_EVENT, mapped),
        )
    producer.flush()

    # a v2 extract from Guy's and St Thomas' (RJ1): a timestamp on the UK clock, one whose offset is not
    # the UK clock's that day (the hour is not to be trusted), and a bare date (lenient: a date only)
    v2_events = _reported("RJ1", 3)
    rows = []
    for event, kind in zip(v2_events, ("uk", "wrong offset", "date"), strict=True):
        day = date.fromisoformat(event["diagnostic_test_date"])
        uk = _uk_offset(day, 11)
        wrong = "+01:00" if uk == "+00:00" else "Z"
        start = {"uk": f"{day}T11:20:00{uk}", "wrong offset": f"{day}T11:20:00{wrong}", "date": str(day)}[kind]
        rows.append((event, start, 11 if kind == "uk" else None))
    path = tmp_path / "RJ1-v2.csv"
    _v2_csv(path, [(event, start) for event, start, _ in rows])
    period = v2_events[0]["diagnostic_test_date"][:7]
    received = max(e["received_time"] for e in v2_events) + timedelta(hours=1)
    result = submit_file(settings, path, period=period, submitter="RJ1", received=received)
    assert result.status == "accepted", result

    expected_records = len(cases) + len(rows)
    count = poll(lambda: client.command("SELECT count() FROM current_examinations"), expected_records, 180)
    assert count == expected_records, f"{count} current records, expected {expected_records}"

    # each record's hour as the stream derived it
    stored = dict(client.query("SELECT record_key, test_hour FROM examinations FINAL").result_rows)
    want = {event_key(e): hour for e, _, hour in cases} | {event_key(e): hour for e, _, hour in rows}
    assert stored == want

    # the view: one count per (month, site, modality, weekday, hour); weekday ISO (1 = Monday)
    modality = dict(client.query("SELECT record_key, ifNull(modality, 'Unknown') FROM examinations FINAL").result_rows)
    expected = Counter()
    for event, hour in [(e, h) for e, _, h in cases] + [(e, h) for e, _, h in rows]:
        day = date.fromisoformat(event["diagnostic_test_date"])
        cell = (f"{day:%Y-%m}", event["site_code_imaging"], modality[event_key(event)], day.isoweekday(), hour)
        expected[cell] += 1

    def level(name: str, view: str = "utilisation_hourly") -> dict[tuple, int | None]:
        query = f"SELECT month, site_code, modality, weekday, hour, tests FROM {view} WHERE level = {{l:String}}"
        return {tuple(r[:5]): r[5] for r in client.query(query, parameters={"l": name}).result_rows}

    got = level("site")
    assert got == dict(expected)
    # date only: counted on its day (a weekday), never in an hour
    assert sum(n for cell, n in got.items() if cell[4] is None) == 4
    assert all(cell[3] is not None for cell in got)
    # every current record counts once in each level: each adds up to activity_monthly
    monthly = client.command("SELECT sum(tests) FROM activity_monthly")
    assert monthly == expected_records
    for name, drop in (("site_hours", 3), ("national", 1)):
        rolled = Counter()
        for cell, n in expected.items():
            rolled[tuple(None if i == drop else v for i, v in enumerate(cell))] += n
        assert level(name) == dict(rolled), name
        assert sum(level(name).values()) == monthly

    # the published twin: the same cells, each a count of 1 or 2, so each suppressed (NULL)
    published = level("site", "pub_utilisation_hourly")
    assert set(published) == set(got)
    assert all(n is None for n in published.values())


def test_the_published_twin_suppresses_and_rounds_every_level(settings_factory, tmp_path):
    """pub_utilisation_hourly on seeded rows: 1..7 hidden, others rounded to 5 (never to 0), at each level;
    restricted records count in the month with neither weekday nor hour. On a warehouse of its own, so
    the read-only analyst account reads both views (and still not the base table)."""
    from deploy.warehouse.process import start_warehouse
    from dids.kernel.ports import free_port
    from tests.integration.rows import CT, exam, migrated

    monday, tuesday = date(2026, 10, 12), date(2026, 10, 13)
    rows = [exam(f"M{i}", modality=CT, test_date=monday, test_hour=9) for i in range(12)]  # 12 -> 10
    rows += [exam(f"N{i}", modality=CT, test_date=monday, test_hour=10) for i in range(3)]  # 3 -> hidden
    rows += [exam(f"D{i}", modality=CT, test_date=tuesday) for i in range(8)]  # date only: 8 -> 10
    rows += [exam(f"B{i}", provider="RBB", modality=CT, test_date=monday, test_hour=9) for i in range(6)]
    rows += [exam("R1", modality=CT, test_date=date(2026, 10, 1), test_hour=None, restricted=True)]
    settings = settings_factory()
    wh = start_warehouse(
        tmp_path / "wh", free_port(), tmp_path / "wh.log", admin_password="admin-secret",
        database=settings.clickhouse_database,
    )  # fmt: skip
    try:
        settings = settings.with_(clickhouse_url=wh.url, clickhouse_password="admin-secret")
        migrated(settings).put("examinations", rows)
        admin, analyst = connect(settings), connect(settings, user="analyst", password="analyst")

        def view(client, name):
            query = f"SELECT level, site_code, weekday, hour, tests FROM {name} WHERE month = '2026-10'"
            return {tuple(r[:4]): r[4] for r in client.query(query).result_rows}

        raw, published = view(admin, "utilisation_hourly"), view(admin, "pub_utilisation_hourly")
        assert view(analyst, "utilisation_hourly") == raw
        assert view(analyst, "pub_utilisation_hourly") == published
        with pytest.raises(Exception, match="(?i)not allowed|denied|ACCESS_DENIED"):
            analyst.command("SELECT count() FROM examinations")
    finally:
        wh.stop()
    assert raw == {
        ("site", "RAA01", 1, 9): 12,
        ("site", "RAA01", 1, 10): 3,
        ("site", "RAA01", 2, None): 8,
        ("site", "RAA01", None, None): 1,  # restricted: the month only
        ("site", "RBB01", 1, 9): 6,
        ("site_hours", "RAA01", None, 9): 12,
        ("site_hours", "RAA01", None, 10): 3,
        ("site_hours", "RAA01", None, None): 9,  # date only 8 + restricted 1
        ("site_hours", "RBB01", None, 9): 6,
        ("national", None, 1, 9): 18,
        ("national", None, 1, 10): 3,
        ("national", None, 2, None): 8,
        ("national", None, None, None): 1,
    }
    assert set(published) == set(raw)
    for cell, n in raw.items():
        expected = None if n <= 7 else max(5, (n + 2) // 5 * 5)
        assert published[cell] == expected, cell
    assert published[("national", None, 1, 9)] == 20 and published[("site", "RAA01", 1, 9)] == 10
