"""The published record's test_hour (examination_record v3): the UK clock hour of the start timestamp on
the test date, None for a date only, a time on another day, and restricted codes (no services)."""

from __future__ import annotations

import functools
from collections import Counter
from datetime import datetime, timedelta, timezone

from dids.kernel.keys import event_key
from dids.kernel.pseudonyms import Pseudonymiser
from producers.catalogue import TIMED_PROVIDERS
from producers.generator import SimulationConfig, events
from schemas.catalog import EXAMINATION_RECORD, default_catalog
from streams.evaluate import StreamContext
from streams.process import process_events
from streams.refdata.loaders import load_samples

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
CATALOG = default_catalog()
CTX = StreamContext(refdata=load_samples(), pseudonymiser=Pseudonymiser(b"k" * 32))
START = "coded_procedure_start_timestamp"


def published(evts) -> dict[str, dict]:
    table, out = {}, {}
    routed = process_events(CATALOG, CTX, evts, table.get, NOW)
    for event, r in zip(evts, routed, strict=True):
        if r.state is not None:
            table[event_key(event)] = r.state
        if r.examination:
            out[event_key(event)] = CATALOG.decode(r.examination.value, EXAMINATION_RECORD)
    return out


@functools.cache
def _stream() -> tuple[dict, ...]:
    """Made once (the generator takes seconds); each caller gets copies."""
    config = SimulationConfig(seed=31, providers=5, invalid_rate=0.0, cancelled_rate=0.0, corrected_rate=0.0)
    return tuple(e for e in events(config, now=NOW, limit=400) if e["event_time"] <= NOW)


def _simulated(**overrides):
    return [dict(e, **overrides) for e in _stream()]


def test_timed_trusts_records_carry_the_hour_and_the_others_none():
    evts = _simulated()
    records = published(evts)
    latest = {event_key(e): e for e in evts}
    hours = Counter()
    for key, record in records.items():
        if record["status"] != "active":
            continue
        start = latest[key][START]
        provider = record["provider_code"]
        if provider in TIMED_PROVIDERS:
            assert start and record["test_hour"] == int(start[11:13]), (key, start)
            assert start[:10] == record["diagnostic_test_date"]
            hours[record["test_hour"]] += 1
        else:
            assert start is None and record["test_hour"] is None
    assert len(hours) >= 6  # spread over the working day


def test_a_time_on_another_day_or_off_the_uk_clock_gives_no_hour():
    base = next(e for e in _simulated() if e["event_type"] == "performed" and e[START])
    day = base["diagnostic_test_date"]
    wrong = "Z" if base[START].endswith("+01:00") else "+01:00"
    cases = {
        "good": (base[START], int(base[START][11:13])),
        "other day": ((datetime.fromisoformat(base[START]) + timedelta(days=1)).isoformat(), None),
        "off the clock": (base[START][:19] + wrong, None),
        "date only": (None, None),
        "malformed": (day + "T25:00:00+00:00", None),
    }
    evts = []
    for n, (name, (start, _)) in enumerate(cases.items()):
        accession = f"T{n}{base['radiological_accession_num']}"[:20]
        evts.append(dict(base, event_id=f"e-{name}", radiological_accession_num=accession, **{START: start}))
    records = published(evts)
    got = {name: records[event_key(e)]["test_hour"] for name, e in zip(cases, evts, strict=True)}
    assert got == {name: hour for name, (_, hour) in cases.items()}


def test_a_restricted_record_has_no_hour():
    config = SimulationConfig(seed=5, providers=3, invalid_rate=0.0, cancelled_rate=0.0, restricted_rate=0.5)
    evts = [e for e in events(config, now=NOW, limit=200) if e["event_time"] <= NOW]
    latest = {event_key(e): e for e in evts}
    records = {k: r for k, r in published(evts).items() if r["status"] == "active"}
    # restricted records whose source sent the time: the hour is dropped with the place and the person
    restricted = [r for k, r in records.items() if r["restricted"] and latest[k][START]]
    records = list(records.values())
    timed = [r for r in records if not r["restricted"] and r["test_hour"] is not None]
    assert restricted and timed
    assert all(r["test_hour"] is None for r in restricted)
