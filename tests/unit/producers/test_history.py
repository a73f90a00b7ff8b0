"""The simulated history `dids up` backfills, and the waits, rhythm and waiting list behind it (pure).

Bands come from DIDS-SPEC §8.5-8.6 (medians: X-ray, fluoroscopy same day; CT ~1 day overall and ~2
weeks for GP direct access; ultrasound ~2 weeks; MRI ~3 weeks; nuclear medicine 2-3 weeks; reports
same day for CT, ultrasound and fluoroscopy, 1-2 days for X-ray, up to 3 for MRI).
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest

from producers import rhythm
from producers.builder import ExaminationBuilder, day_ms
from producers.generator import SimulationConfig, events, examinations, latest_event
from producers.history import history_config, history_events, history_months, history_start

END = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
CONFIG = history_config(SimulationConfig(seed=3, providers=5), END)
ACUTE = {"01", "02", "05"}


def _day(text):
    try:
        return date.fromisoformat(text)
    except (TypeError, ValueError):
        return None


@pytest.fixture(scope="module")
def sent():
    """(examination, the event the history sends of it), as history_events makes them."""
    pairs = []
    for exam in examinations(CONFIG, now=END):
        event = latest_event(exam, CONFIG.seed, END)
        if event is None:
            break
        pairs.append((exam, event))
    return pairs


@pytest.fixture(scope="module")
def history(sent):
    events_sent = list(history_events(CONFIG, END))
    assert events_sent == [event for _, event in sent]
    return events_sent


@pytest.fixture(scope="module")
def tests(sent):
    """(modality, setting, test date, days request -> test, days test -> report or None) of the tests
    not broken on purpose (rejected records are in no statistic)."""
    out = []
    for exam, e in sent:
        if exam.broken_rule or e["event_type"] in ("requested", "cancelled"):
            continue
        if exam.before_correction and e["event_type"] != "corrected":
            continue  # corrected only after the end: the RIS still holds the value it will correct
        test, request, report = (
            _day(e[f]) for f in ("diagnostic_test_date", "diagnostic_test_request_date", "service_report_date")
        )
        out.append(
            (
                _MODALITY[exam.modality],
                e["patient_source_setting"],
                test,
                (test - request).days,
                report and (report - test).days,
            )
        )
    return out


_MODALITY = {m: m for m in ("X-ray", "Ultrasound", "CT", "MRI", "Fluoroscopy", "Nuclear medicine")}
_MODALITY["Medical photography"] = "Other"


def _weighted_days(month: str) -> float:
    """The month's days, each weighted by its weekday's share of a week's requests."""
    year, mon = map(int, month.split("-"))
    first, after = date(year, mon, 1), date(year + mon // 12, mon % 12 + 1, 1)
    return sum(rhythm.WEEKDAY_FACTORS[(first + timedelta(days=i)).weekday()] for i in range((after - first).days))


def _median(rows, *, modality, settings=None, report=False):
    values = [r[4] if report else r[3] for r in rows if r[0] == modality and (settings is None or r[1] in settings)]
    values = [v for v in values if v is not None]
    assert len(values) > 30, (modality, settings, len(values))
    return statistics.median(values)


# -- waits by modality and source ------------------------------------------------------------------


def test_request_to_test_medians_by_modality_are_the_specs(tests):
    assert _median(tests, modality="X-ray") == 0
    assert _median(tests, modality="Fluoroscopy") == 0
    assert 0 <= _median(tests, modality="CT") <= 2
    assert 10 <= _median(tests, modality="Ultrasound") <= 21
    assert 14 <= _median(tests, modality="MRI") <= 28
    assert 10 <= _median(tests, modality="Nuclear medicine") <= 25


def test_planned_ct_and_mri_take_weeks_and_acute_work_is_same_day(tests):
    assert 7 <= _median(tests, modality="CT", settings={"03"}) <= 21
    assert 7 <= _median(tests, modality="CT", settings={"04"}) <= 21
    assert 14 <= _median(tests, modality="MRI", settings={"03"}) <= 35
    assert 14 <= _median(tests, modality="MRI", settings={"04"}) <= 35
    for modality in ("X-ray", "CT", "MRI"):
        assert _median(tests, modality=modality, settings=ACUTE) == 0
    assert all(r[3] in (0, 1) for r in tests if r[1] in ACUTE)


def test_gp_direct_access_waits_longer_than_all_referrals_except_chest_xray(tests):
    for modality in ("CT", "Ultrasound", "MRI"):
        assert _median(tests, modality=modality, settings={"04"}) > _median(tests, modality=modality)


def test_test_to_report_medians_by_modality_are_the_specs(tests):
    for modality in ("CT", "Ultrasound", "Fluoroscopy"):
        assert _median(tests, modality=modality, report=True) == 0
    assert 1 <= _median(tests, modality="X-ray", report=True) <= 2
    assert 1 <= _median(tests, modality="MRI", report=True) <= 3


# -- the history's span and its submission semantics -------------------------------------------------


def test_the_history_covers_thirteen_months_before_the_current_one_and_ends_at_the_end(history, tests):
    assert history_start(END) == datetime(2025, 10, 1, tzinfo=UTC)
    months = history_months(END)
    assert len(months) == 14 and months[0] == "2025-10" and months[-1] == "2026-11"
    by_month = Counter(r[2].strftime("%Y-%m") for r in tests)
    assert sorted(by_month) == months  # every month has tests, none outside
    # tests per weekday-weighted day of each complete month: a steady service, quietest in December
    # and busier than most months in May and October (SPEC §8.7)
    rate = {m: by_month[m] / _weighted_days(m) for m in months[:-1]}
    assert max(rate.values()) < 1.3 * min(rate.values())
    assert min(rate, key=rate.get)[5:] == "12"
    middle = statistics.median(rate.values())
    assert all(rate[m] > middle for m in rate if m[5:] in ("05", "10"))
    assert all(e["event_time"] < END for e in history)
    assert max(e["event_time"] for e in history) > END - timedelta(hours=6)


def test_each_examination_is_sent_once_as_received_when_it_happened(sent):
    assert len({(exam.site, exam.accession) for exam, _ in sent}) == len(sent)
    for _, e in sent:
        assert timedelta(0) < e["received_time"] - e["event_time"] <= timedelta(seconds=5)
        test = _day(e["diagnostic_test_date"])
        if test is not None:  # DIDS049/055 count months from the test to the submission (received) month
            received = e["received_time"].date()
            assert (received.year * 12 + received.month) - (test.year * 12 + test.month) <= 2
            assert test <= received


def test_the_deliberate_invalid_share_is_the_simulators(sent):
    broken = sum(1 for exam, _ in sent if exam.broken_rule) / len(sent)
    assert abs(broken - CONFIG.invalid_rate) < 0.005


def test_history_and_live_traffic_from_its_end_share_no_key(sent):
    live = SimulationConfig(seed=CONFIG.seed, providers=5, clock_start=END)
    history_keys = {(exam.site, exam.accession) for exam, _ in sent}
    assert not {(exam.site, exam.accession) for exam in examinations(live, END, limit=5000)} & history_keys


# -- week and day -----------------------------------------------------------------------------------


def test_weekends_carry_the_acute_work_and_a_little_planned_work(tests):
    per_weekday = Counter(r[2].weekday() for r in tests)
    weekdays, weekend = [per_weekday[d] for d in range(5)], [per_weekday[d] for d in (5, 6)]
    assert max(weekdays) < 1.1 * min(weekdays)  # moved weekend bookings spread over the week
    assert 0.3 < statistics.mean(weekend) / statistics.mean(weekdays) < 0.55
    share_acute = defaultdict(list)
    for r in tests:
        share_acute[r[2].weekday() >= 5].append(r[1] in ACUTE)
    assert statistics.mean(share_acute[True]) > 1.5 * statistics.mean(share_acute[False])


def test_requests_follow_opening_hours_with_a_morning_peak():
    live = SimulationConfig(seed=4, providers=3, clock_start=END)
    hours = Counter(e["event_time"].hour for e in events(live, END, limit=20_000) if e["event_type"] == "requested")
    assert set(hours) <= set(range(rhythm.OPEN_FROM_HOUR, rhythm.OPEN_FROM_HOUR + len(rhythm.HOURLY_WEIGHTS)))
    assert hours[9] > 2 * hours[7] and hours[9] > 2 * hours[19]
    assert hours[12] < hours[10]  # lunch


# -- the waiting list at the clock start (why every wait used to read 0 days) -------------------------


def test_a_stream_has_its_waits_from_its_first_day():
    config = SimulationConfig(seed=6, providers=3, clock_start=END)
    first_day = [
        e
        for e in events(config, END, limit=6000)
        if e["event_type"] == "performed" and e["event_time"] < END + timedelta(days=1)
    ]
    waits = defaultdict(list)
    for e in first_day:
        test, request = _day(e["diagnostic_test_date"]), _day(e["diagnostic_test_request_date"])
        if test and request:
            waits[(e["imaging_code_nicip"] or "O")[0]].append((test - request).days)
    assert 14 <= statistics.median(waits["M"]) <= 28  # not 0: the MRI waiting list was there already
    assert 10 <= statistics.median(waits["U"]) <= 21


def test_long_waits_draw_the_waiting_list_as_drawing_every_request_would():
    config = SimulationConfig(seed=8, providers=2, restricted_rate=0.01)
    start, volume, ages = date(2026, 3, 4).toordinal(), 400.0, range(3, 307)
    brute = ExaminationBuilder(config, start)
    every = []
    for day, _ in brute.arrivals(day_ms(start - ages.stop + 1), volume):
        if day > start - ages.start:
            break
        plan = brute.plan(day)
        if brute.test_of(plan, day) >= start:
            every.append(plan)
    direct = [plan for _, _, plan in ExaminationBuilder(config, start).long_waits(start, volume, ages)]
    assert abs(len(direct) - len(every)) < 4 * len(every) ** 0.5  # Poisson counts
    assert abs(statistics.mean(p.wait for p in direct) - statistics.mean(p.wait for p in every)) < 3
    for key in (lambda p: p.setting, lambda p: p.modality.name):
        got, want = Counter(map(key, direct)), Counter(map(key, every))
        for value, n in want.items():
            assert abs(got[value] / len(direct) - n / len(every)) < 0.03, value
