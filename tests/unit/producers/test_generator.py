"""The RIS simulator: determinism, schema shape, realism, lifecycle order and deliberate breakage.

The rule checks below are a small independent re-statement of the record-only national rules
(DIDS-RULES §2), written for these tests only: they do not import the stream's rule code.
"""

from __future__ import annotations

import json
import random
import re
import statistics
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import nhs_number
import pytest

from dids.kernel.keys import event_key
from producers.breakage import DEFAULT_BREAK_RULES, SUPPORTED_RULES
from producers.catalogue import PROVIDERS, PSEUDO_POSTCODE, RESTRICTED
from producers.generator import (
    EVENT_FIELDS,
    ITEM_FIELDS,
    SimulationConfig,
    SimulationConfigError,
    events,
    examinations,
    extract_examinations,
    providers_for,
    records,
    window_start,
)

NOW = datetime(2025, 3, 17, 14, 30, tzinfo=UTC)
RESTRICTED_CODES = {c.nicip for _, c in RESTRICTED if c.nicip} | {c.snomed for _, c in RESTRICTED if c.snomed}
SCHEMA = Path(__file__).parents[3] / "schemas" / "avro" / "examination_event.v1.avsc"

# -- an independent statement of the record-only rules -------------------------------------------

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_POSTCODE = re.compile(r"^[A-Za-z]{1,2}[0-9][A-Za-z0-9]?\s+[0-9][A-Za-z]{2}$")
_SITE = re.compile(r"^[A-Za-z0-9]{5,12}$")
_REFERRER = re.compile(
    r"^\s*([CDGS]\d{1,7}|(CH|DT|CD|PH|SL)\d{1,6}|\d\d[A-Z]\d{4}[A-Z]|Z[ENSW]\d{6}"
    r"|H9999998|M9999998|R9999981|A9999998|P9999981|X9999998|N9999998)\s*$",
    re.IGNORECASE,
)
_ETHNIC = set("ABCDEFGHJKLMNPRSZ") | {"99"}
_GENDER = {"0", "1", "2", "9"}
_DEMOGRAPHICS = ("nhs_number", "person_birth_date", "ethnic_category", "person_gender_code", "postcode")


def _blank(v):
    return v is None or v.strip() == ""


def _day(v):
    if _blank(v) or not _DATE.match(v):
        return None
    try:
        return date.fromisoformat(v)
    except ValueError:
        return None


def _bad_date(v):
    return not _blank(v) and _day(v) is None


def _nhs(v):
    return None if _blank(v) else re.sub(r"[\s-]", "", v)


def _mod11_ok(n):
    if len(n) != 10 or not n.isdigit() or (n[0] == n[9] and n[1:9] == "00000000"):
        return False
    check = 11 - sum(int(c) * w for c, w in zip(n[:9], range(10, 1, -1), strict=True)) % 11
    return check != 10 and check % 11 == int(n[9])


def _after(a, b):  # pair rule: both usable and a > b
    da, db = _day(a), _day(b)
    return da is not None and db is not None and da > db


def _months(a, b):  # monthIndex(a) - monthIndex(b), or None
    da, db = _day(a), _day(b)
    return None if da is None or db is None else (da.year * 12 + da.month) - (db.year * 12 + db.month)


def _days(a, b):
    da, db = _day(a), _day(b)
    return None if da is None or db is None else (da - db).days


def _plus_month(d):
    y, m = (d.year, d.month + 1) if d.month < 12 else (d.year + 1, 1)
    for day in (d.day, 30, 29, 28):
        try:
            return date(y, m, day)
        except ValueError:
            continue


R = {
    "nhs": "nhs_number",
    "birth": "person_birth_date",
    "req": "diagnostic_test_request_date",
    "rec": "diag_test_request_rec_date",
    "test": "diagnostic_test_date",
    "rep": "service_report_date",
}
CHECKS = {
    "DIDS001": lambda r: _nhs(r[R["nhs"]]) is not None and not _mod11_ok(_nhs(r[R["nhs"]])),
    "DIDS002": lambda r: _nhs(r[R["nhs"]]) is not None and len(_nhs(r[R["nhs"]])) != 10,
    "DIDS003": lambda r: not _blank(r["nhs_number_status_ind"])
    and r["nhs_number_status_ind"].strip() not in {f"0{i}" for i in range(1, 9)},
    "DIDS005": lambda r: _bad_date(r[R["birth"]]),
    "DIDS006": lambda r: _after(r[R["birth"]], r[R["test"]]),
    "DIDS008": lambda r: _after(r[R["birth"]], r[R["rep"]]),
    "DIDS009": lambda r: _day(r[R["birth"]]) is not None and _day(r[R["birth"]]) <= date(1900, 1, 1),
    "DIDS010": lambda r: (_months(r[R["birth"]], r[R["req"]]) or 0) > 6,
    "DIDS012": lambda r: not _blank(r["ethnic_category"]) and r["ethnic_category"].strip() not in _ETHNIC,
    "DIDS014": lambda r: not _blank(r["person_gender_code"]) and r["person_gender_code"].strip() not in _GENDER,
    "DIDS017": lambda r: not _blank(r["postcode"]) and not _POSTCODE.match(r["postcode"].strip()),
    "DIDS020": lambda r: _blank(r["patient_source_setting"]),
    "DIDS021": lambda r: not _blank(r["patient_source_setting"])
    and r["patient_source_setting"].strip() not in {f"0{i}" for i in range(1, 8)},
    "DIDS023": lambda r: not _blank(r["referrer"]) and not _REFERRER.match(r["referrer"]),
    "DIDS026": lambda r: _bad_date(r[R["req"]]),
    "DIDS027": lambda r: _after(r[R["req"]], r[R["rec"]]),
    "DIDS028": lambda r: (_days(r[R["test"]], r[R["req"]]) or 0) > 365,
    "DIDS031": lambda r: _day(r[R["req"]]) is not None and _day(r[R["req"]]) < date(1970, 1, 1),
    "DIDS034": lambda r: _after(r[R["req"]], r[R["test"]]),
    "DIDS035": lambda r: _after(r[R["req"]], r[R["rep"]]),
    "DIDS036": lambda r: _bad_date(r[R["rec"]]),
    "DIDS038": lambda r: (_days(r[R["test"]], r[R["rec"]]) or 0) > 365,
    "DIDS040": lambda r: (_months(r[R["birth"]], r[R["rec"]]) or 0) > 6,
    "DIDS041": lambda r: _day(r[R["rec"]]) is not None and _day(r[R["rec"]]) < date(1970, 1, 1),
    "DIDS043": lambda r: _after(r[R["rec"]], r[R["test"]]),
    "DIDS044": lambda r: _after(r[R["rec"]], r[R["rep"]]),
    "DIDS045": lambda r: _bad_date(r[R["test"]]),
    "DIDS048": lambda r: _after(r[R["test"]], r[R["rep"]]),
    "DIDS050": lambda r: _blank(r[R["test"]]),
    "DIDS056": lambda r: _blank(r["imaging_code_nicip"]) and _blank(r["imaging_code_snomed"]),
    "DIDS061": lambda r: _bad_date(r[R["rep"]]),
    "DIDS062": lambda r: _day(r[R["test"]]) is not None
    and _day(r[R["rep"]]) is not None
    and _day(r[R["rep"]]) > _plus_month(_day(r[R["test"]])),
    "DIDS067": lambda r: _blank(r["site_code_imaging"]),
    "DIDS069": lambda r: not _blank(r["site_code_imaging"]) and not _SITE.match(r["site_code_imaging"].strip()),
    "DIDS070": lambda r: _blank(r["radiological_accession_num"]),
    "DIDS072": lambda r: len((r["radiological_accession_num"] or "").strip()) > 20,
    "DIDS073": lambda r: all(_blank(r[f]) for f in (*_DEMOGRAPHICS, "practice_code")),
    "DIDS074": lambda r: all(_blank(r[f]) for f in (*_DEMOGRAPHICS[:4], "practice_code"))
    and not _blank(r["postcode"])
    and r["postcode"].strip().upper().startswith("ZZ99"),
}  # fmt: skip


def _submission_failures(r, received: date):
    """DIDS049/051/055/066 for a submission received on ``received`` (calendar-month form)."""
    out = set()
    test, report = _day(r[R["test"]]), _day(r[R["rep"]])
    if test is not None:
        months = (received.year * 12 + received.month) - (test.year * 12 + test.month)
        out |= {"DIDS051"} if test > received else set()
        out |= {"DIDS055"} if months >= 7 else {"DIDS049"} if months >= 4 else set()
    if report is not None and report > received:
        out.add("DIDS066")
    return out


def failures(r, received: date | None = None) -> set[str]:
    out = {code for code, check in CHECKS.items() if check(r)}
    return out | (_submission_failures(r, received) if received else set())


def expected_failures(rule: str) -> set[str]:
    return {"DIDS001", "DIDS002"} if rule == "DIDS002" else {rule}


# -- shared data -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clean_extract():
    return list(extract_examinations(SimulationConfig(seed=7, providers=5, invalid_rate=0.0), 20_000, NOW))


@pytest.fixture(scope="module")
def broken_extract():
    config = SimulationConfig(seed=8, providers=4, invalid_rate=0.5, break_rules=SUPPORTED_RULES)
    return list(extract_examinations(config, 12_000, NOW))


STREAM = SimulationConfig(seed=5, providers=3, invalid_rate=0.2, break_rules=SUPPORTED_RULES, restricted_rate=0.01)


@pytest.fixture(scope="module")
def stream():
    """(examinations, events) of one stream, and each event's examination and sequence number."""
    exams = list(examinations(STREAM, NOW, limit=12_000))
    evs = list(events(STREAM, NOW, limit=12_000))
    order = sorted((ms, exam.index, seq) for exam in exams for seq, (_, ms, _) in enumerate(exam.timeline))
    return exams, evs, [(exams[i], seq) for _, i, seq in order]


# -- shape and determinism -------------------------------------------------------------------------


def test_event_fields_are_exactly_the_avro_schema_fields(stream):
    names = [f["name"] for f in json.loads(SCHEMA.read_text())["fields"]]
    names.append("coded_procedure_start_timestamp")  # the one v2 item the simulator sends: the test's time
    assert list(EVENT_FIELDS) == names
    assert list(ITEM_FIELDS) == names[8:-1]
    _, evs, _ = stream
    for event in evs[:2000]:
        assert list(event) == names
        assert event["source"] == "simulator"
        assert event["submission_id"] is None and event["submitter_org"] is None and event["row_number"] is None
        assert event["event_time"].utcoffset() == timedelta(0) and event["received_time"].tzinfo is not None
        assert all(event[f] is None or isinstance(event[f], str) for f in ITEM_FIELDS)
    assert all(list(r) == list(ITEM_FIELDS) for r in records(STREAM, 500, NOW))


def _dump(items) -> str:
    return json.dumps(list(items), default=str, sort_keys=False)


def test_same_config_gives_byte_identical_output_and_another_seed_does_not():
    config = SimulationConfig(seed=42, invalid_rate=0.1, restricted_rate=0.01)
    random.seed(1)
    state = random.getstate()
    first = _dump(records(config, 3000, NOW)), _dump(events(config, NOW, limit=3000))
    assert random.getstate() == state  # the global generator is neither used nor disturbed
    random.seed(2)
    second = _dump(records(config, 3000, NOW)), _dump(events(config, NOW, limit=3000))
    assert first == second
    other = SimulationConfig(seed=43, invalid_rate=0.1, restricted_rate=0.01)
    assert _dump(records(other, 3000, NOW)) != first[0]
    assert _dump(events(other, NOW, limit=3000)) != first[1]


def test_config_start_is_the_default_present():
    config = SimulationConfig(seed=3, start=NOW)
    assert _dump(records(config, 200)) == _dump(records(SimulationConfig(seed=3), 200, NOW))
    with pytest.raises(SimulationConfigError, match="now"):
        next(records(SimulationConfig(), 1))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"invalid_rate": 1.5},
        {"cancelled_rate": -0.1},
        {"providers": 0},
        {"providers": len(PROVIDERS) + 1},
        {"break_rules": ("DIDS999",)},
        {"break_rules": ()},
        {"start": datetime(2025, 1, 1)},
        {"daily_volume": 0},
    ],
)
def test_bad_config_is_refused(kwargs):
    with pytest.raises(SimulationConfigError):
        SimulationConfig(**kwargs)


# -- realism -----------------------------------------------------------------------------------------


def test_modality_mix_matches_england(clean_extract):
    share = {m: c / len(clean_extract) for m, c in Counter(e.modality for e in clean_extract).items()}
    assert 0.50 <= share["X-ray"] <= 0.56
    assert 0.19 <= share["Ultrasound"] <= 0.24
    assert 0.11 <= share["CT"] <= 0.14
    assert 0.065 <= share["MRI"] <= 0.085
    assert 0.02 <= share["Fluoroscopy"] <= 0.04
    assert 0.008 <= share["Nuclear medicine"] + share.get("Medical photography", 0) <= 0.025
    family = {"X-ray": "X", "Ultrasound": "U", "CT": "C", "MRI": "M", "Fluoroscopy": "FI", "Nuclear medicine": "N"}
    for e in clean_extract:
        nicip = e.items["imaging_code_nicip"]
        if nicip and e.modality in family:
            assert nicip[0] in family[e.modality], (nicip, e.modality)


def test_codes_are_mostly_nicip_from_the_common_head_sometimes_snomed(clean_extract):
    rs = [e.items for e in clean_extract]
    nicip_only = sum(1 for r in rs if r["imaging_code_nicip"] and not r["imaging_code_snomed"])
    both = sum(1 for r in rs if r["imaging_code_nicip"] and r["imaging_code_snomed"])
    snomed_only = sum(1 for r in rs if r["imaging_code_snomed"] and not r["imaging_code_nicip"])
    assert nicip_only > 0.9 * len(rs) and both > 0 and snomed_only > 0
    top = {c for c, _ in Counter(r["imaging_code_nicip"] for r in rs).most_common(5)}
    assert "XCHES" in top and top <= {"XCHES", "UABDO", "XDLO", "CSKUH", "UPELV", "XKNEL", "XKNER"}
    assert not any({r["imaging_code_nicip"], r["imaging_code_snomed"]} & RESTRICTED_CODES for r in rs)


def test_restricted_codes_only_when_asked_and_for_women(stream):
    exams, _, _ = stream
    hits = [e for e in exams if {e.items["imaging_code_nicip"], e.items["imaging_code_snomed"]} & RESTRICTED_CODES]
    assert 0.004 * len(exams) < len(hits) < 0.02 * len(exams)
    assert all(e.items["person_gender_code"] == "2" for e in hits if e.broken_rule is None)


def test_source_settings_and_waits_are_plausible(clean_extract):
    by_modality = defaultdict(list)
    for e in clean_extract:
        by_modality[e.modality].append(e.items)
    mri = Counter(r["patient_source_setting"] for r in by_modality["MRI"])
    assert 0.55 <= mri["03"] / sum(mri.values()) <= 0.70
    xray = Counter(r["patient_source_setting"] for r in by_modality["X-ray"])
    assert xray["05"] / sum(xray.values()) > 0.15 and xray["04"] / sum(xray.values()) > 0.2

    def median(rs, a, b):
        return statistics.median(_days(r[b], r[a]) for r in rs if r[a] and r[b])

    assert median(by_modality["X-ray"], R["req"], R["test"]) == 0
    assert 14 <= median(by_modality["MRI"], R["req"], R["test"]) <= 28
    assert median(by_modality["CT"], R["req"], R["test"]) <= 2
    assert 7 <= median(by_modality["Ultrasound"], R["req"], R["test"]) <= 21
    assert median(by_modality["CT"], R["test"], R["rep"]) == 0
    assert median(by_modality["Ultrasound"], R["test"], R["rep"]) == 0
    assert 1 <= median(by_modality["X-ray"], R["test"], R["rep"]) <= 2
    assert 1 <= median(by_modality["MRI"], R["test"], R["rep"]) <= 3
    acute = [r for r in (e.items for e in clean_extract) if r["patient_source_setting"] in ("01", "02", "05")]
    assert all(_days(r[R["test"]], r[R["req"]]) in (0, 1) for r in acute)


def test_patients_look_like_imaging_patients(clean_extract):
    rs = [e.items for e in clean_extract]
    ages = [(_day(r[R["test"]]) - _day(r[R["birth"]])).days / 365.25 for r in rs if r[R["birth"]]]
    assert 45 <= statistics.median(ages) <= 65 and min(ages) >= 0 and max(ages) < 105
    genders = Counter(r["person_gender_code"] for r in rs)
    assert genders["1"] + genders["2"] > 0.97 * len(rs) and genders["0"] > 0 and genders["9"] > 0
    ethnic = Counter(r["ethnic_category"] for r in rs)
    assert ethnic["A"] > 0.6 * len(rs) and ethnic["Z"] > 0 and ethnic["99"] > 0
    postcodes = Counter(r["postcode"] for r in rs)
    assert postcodes[PSEUDO_POSTCODE] > 0 and len(postcodes) > 20
    practices = Counter(r["practice_code"] for r in rs)
    assert practices["V81999"] > 0 and all(p is None or re.fullmatch(r"[A-Z]\d{5}", p) for p in practices)
    referrers = Counter(r["referrer"] for r in rs)
    assert referrers[None] > 0 and referrers["X9999998"] > 0
    assert any(re.fullmatch(r"G\d{7}", c or "") for c in referrers)
    assert any(re.fullmatch(r"C\d{7}", c or "") for c in referrers)
    assert any(re.fullmatch(r"\d\d[A-Z]\d{4}[A-Z]", c or "") for c in referrers)


def test_nhs_numbers_are_valid_synthetic_test_numbers(clean_extract):
    numbers = [e.items["nhs_number"] for e in clean_extract if e.items["nhs_number"]]
    assert len(numbers) > 0.97 * len(clean_extract)
    for n in numbers:
        assert nhs_number.is_valid(n) and _mod11_ok(n) and n.startswith("999"), n


def test_providers_and_sites_are_data(clean_extract):
    providers = providers_for(SimulationConfig(providers=5))
    assert providers == PROVIDERS[:5]
    sites = {s.code for p in providers for s in p.sites}
    for p in PROVIDERS:
        assert re.fullmatch(r"[A-Z0-9]{3}", p.code) and 1 <= len(p.sites) <= 3
        assert all(re.fullmatch(r"[A-Z0-9]{5}", s.code) and s.code.startswith(p.code) for s in p.sites)
    assert {e.items["site_code_imaging"] for e in clean_extract} == sites


def test_extract_dates_fall_in_the_window_and_pass_every_record_rule(clean_extract):
    first = window_start(NOW).date()
    assert first == date(2025, 1, 1)
    for e in clean_extract:
        r = e.record()
        assert first <= _day(r[R["test"]]) <= NOW.date()
        assert failures(r, NOW.date()) == set(), (failures(r, NOW.date()), r)
        assert e.broken_rule is None


def test_accession_numbers_are_unique_per_site_and_short(clean_extract):
    keys = [event_key(e.items) for e in clean_extract]
    assert len(set(keys)) == len(keys)
    assert all(len(e.items["radiological_accession_num"]) <= 20 for e in clean_extract)


# -- deliberate breakage -------------------------------------------------------------------------------


def test_invalid_rate_is_respected():
    exams = list(extract_examinations(SimulationConfig(seed=9, invalid_rate=0.1), 20_000, NOW))
    broken = Counter(e.broken_rule for e in exams if e.broken_rule)
    assert 0.09 <= sum(broken.values()) / len(exams) <= 0.11
    assert set(broken) == set(DEFAULT_BREAK_RULES)
    clean = list(extract_examinations(SimulationConfig(seed=9, invalid_rate=0.0), 2000, NOW))
    assert not any(e.broken_rule for e in clean)


def test_each_broken_record_breaks_its_named_rule_and_only_that(broken_extract):
    seen = Counter()
    for e in broken_extract:
        got = failures(e.record(), NOW.date())
        if e.broken_rule is None:
            assert got == set(), (got, e.items)
        else:
            assert got == expected_failures(e.broken_rule), (e.broken_rule, got, e.items)
            seen[e.broken_rule] += 1
    assert set(seen) == set(SUPPORTED_RULES) and min(seen.values()) > 50


def test_only_dids072_records_have_long_accession_numbers(broken_extract):
    for e in broken_extract:
        acc = e.items["radiological_accession_num"]
        assert acc is None or len(acc) <= 20 or e.broken_rule == "DIDS072"
    by_site = defaultdict(set)
    for e in broken_extract:
        acc = e.items["radiological_accession_num"]
        if acc:
            assert acc not in by_site[e.items["site_code_imaging"]]
            by_site[e.items["site_code_imaging"]].add(acc)


# -- the event stream ------------------------------------------------------------------------------------


def test_events_are_the_examinations_lifecycles_in_time_order(stream):
    exams, evs, owners = stream
    assert len(evs) == len(owners) == sum(len(e.timeline) for e in exams)
    assert len({e["event_id"] for e in evs}) == len(evs)
    times = [e["event_time"] for e in evs]
    assert times == sorted(times)
    for event, (exam, seq) in zip(evs, owners, strict=True):
        assert event["event_type"] == exam.timeline[seq][0]
        assert {f: event[f] for f in ITEM_FIELDS} == exam.items_at(seq)


def test_each_examination_follows_its_lifecycle(stream):
    exams, evs, owners = stream
    per_exam = defaultdict(list)
    for event, (exam, _) in zip(evs, owners, strict=True):
        per_exam[exam.index].append(event)
    kinds = Counter()
    for exam in exams:
        got = per_exam[exam.index]
        types = [e["event_type"] for e in got]
        kinds[tuple(types)] += 1
        # the waiting list at the clock start joins after its requests: the rest of a lifecycle
        assert ["requested"] * exam.skipped + types in LIFECYCLES, (exam.skipped, types)
        assert types[-1] != "cancelled" or exam.cancelled
        stamps = [e["event_time"] for e in got]
        assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
        for e in got:
            assert timedelta(0) < e["received_time"] - e["event_time"] <= timedelta(seconds=5)
        assert len({event_key(e) for e in got}) == 1  # the same site + accession throughout
        assert got[0][R["rep"]] is None and got[0][R["req"]] is not None
        if types[0] in ("requested", "cancelled"):
            assert got[0][R["test"]] is None
        else:
            assert got[0][R["test"]] is not None or exam.broken_rule == "DIDS050"
        if "performed" in types:
            assert got[types.index("performed")][R["rep"]] is None
        _assert_values_stick(exam, got)
    cancelled = sum(n for t, n in kinds.items() if "cancelled" in t) / len(exams)
    corrected = sum(n for t, n in kinds.items() if "corrected" in t) / len(exams)
    assert 0.01 <= cancelled <= 0.03 and 0.02 <= corrected <= 0.04


LIFECYCLES = (
    ["requested", "cancelled"],
    ["requested", "performed"],
    ["requested", "performed", "corrected"],
    ["requested", "performed", "reported"],
    ["requested", "performed", "reported", "corrected"],
)


def _assert_values_stick(exam, got):
    """Once the RIS knows an item it keeps it; only the corrected event changes the corrected items."""
    corrected = set(exam.before_correction or ())
    for f in ITEM_FIELDS:
        known = [e[f] for e in got if e["event_type"] != "corrected" and e[f] is not None]
        assert len(set(known)) <= 1, (f, known)
        if got[-1]["event_type"] == "corrected" and f not in corrected and known:
            assert got[-1][f] == known[0]
    if exam.before_correction:
        before = {f: got[-2][f] for f in corrected}
        assert before == exam.before_correction and before != {f: got[-1][f] for f in corrected}


def test_stream_events_break_only_what_they_mean_to(stream):
    exams, evs, owners = stream
    seen = Counter()
    for event, (exam, _) in zip(evs, owners, strict=True):
        got = failures(event, event["received_time"].date())
        if event["event_type"] in ("requested", "cancelled"):
            got.discard("DIDS050")  # no test date before the examination is performed
        if exam.broken_rule is None:
            assert got == set(), (event["event_type"], got, event)
        elif exam.timeline[-1][0] == event["event_type"]:  # the final state shows the breakage
            assert got == expected_failures(exam.broken_rule), (exam.broken_rule, got, event)
            seen[exam.broken_rule] += 1
        else:  # earlier events may not carry the broken item yet, and carry no other breakage
            assert got <= expected_failures(exam.broken_rule), (exam.broken_rule, got, event)
    assert set(seen) == set(SUPPORTED_RULES)


def test_event_tests_start_in_the_window(stream):
    exams, _, _ = stream
    first = window_start(NOW).date()
    tests = [_day(e.items[R["test"]]) for e in exams if _day(e.items[R["test"]])]
    assert min(tests) >= first
    assert sum(t <= NOW.date() for t in tests) > 0.95 * len(tests)  # only long waits run past now


def test_event_ids_are_deterministic_per_examination_and_sequence(stream):
    _, evs, _ = stream
    shorter = {e["event_id"] for e in events(STREAM, NOW, limit=300)}
    assert shorter <= {e["event_id"] for e in evs}  # an id depends on the examination, not the run


def test_event_key_is_site_and_accession_with_blanks_for_missing_parts(stream):
    assert event_key({"site_code_imaging": "RR801", "radiological_accession_num": "RR8000000001"}) == (
        "RR801|RR8000000001"
    )
    assert event_key({"site_code_imaging": None, "radiological_accession_num": "A1"}) == "|A1"
    assert event_key({"site_code_imaging": "RR801", "radiological_accession_num": None}) == "RR801|"
    exams, evs, owners = stream
    for event, (exam, _) in zip(evs, owners, strict=True):
        key = event_key(event)
        if exam.broken_rule == "DIDS070":
            assert key == f"{exam.site}|"
        elif exam.broken_rule == "DIDS067":
            assert key == f"|{exam.accession}"
        elif exam.broken_rule not in ("DIDS069", "DIDS072"):
            assert key == f"{exam.site}|{exam.accession}"


def test_the_timed_trusts_send_the_tests_time_on_the_uk_clock():
    """Equipment utilisation needs a share of tests with a time: the trusts of ``TIMED_PROVIDERS`` send
    the performed time as a v2 start timestamp on the events that carry the test date, the others none."""
    from zoneinfo import ZoneInfo

    from dids.kernel.timestamps import clock_hour
    from producers.catalogue import TIMED_PROVIDERS

    config = SimulationConfig(seed=8, providers=5, invalid_rate=0.0)
    # the 1st of April 2025 is in BST, the clock starts in February (GMT): both offsets show up
    evts = list(events(config, now=datetime(2025, 4, 20, tzinfo=UTC), limit=4000))
    sites = {site.code: p.code for p in PROVIDERS for site in p.sites}
    performed_at = {event_key(e): e["event_time"] for e in evts if e["event_type"] == "performed"}
    timed, offsets, hours = Counter(), Counter(), Counter()
    for event in evts:
        provider, start = sites[event["site_code_imaging"]], event["coded_procedure_start_timestamp"]
        carries_date = event["event_type"] in ("performed", "reported", "corrected")
        if provider not in TIMED_PROVIDERS or not carries_date:
            assert start is None, event["event_type"]
            continue
        local = performed_at[event_key(event)].astimezone(ZoneInfo("Europe/London"))
        assert start == local.strftime("%Y-%m-%dT%H:%M:%S") + ("+01:00" if local.utcoffset() else "+00:00")
        assert clock_hour(start, event["diagnostic_test_date"]) == local.hour  # on the UK clock, on its date
        timed[event["event_type"]] += 1
        offsets[start[-6:]] += 1
        hours[local.hour] += 1
    assert set(offsets) == {"+00:00", "+01:00"}
    assert timed["performed"] > 100 and timed["reported"] > 50
    assert len(hours) >= 10  # the working day, not one hour
    performed = [e for e in evts if e["event_type"] == "performed"]
    share = sum(bool(e["coded_procedure_start_timestamp"]) for e in performed) / len(performed)
    assert 0.5 < share < 0.85  # about two thirds: the three timed trusts' volume of the five
