"""Lifecycle merge and evaluation (pure): shuffled, duplicated, corrected and cancelled delivery."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from dids.kernel.keys import event_key
from dids.kernel.pseudonyms import Pseudonymiser
from producers.generator import SimulationConfig, events
from schemas.catalog import EXAMINATION_RECORD, EXAMINATION_REJECT, default_catalog
from streams.evaluate import REUSED_ACCESSION, StreamContext
from streams.lifecycle import merge
from streams.privacy import RESTRICTED_PERSON_ID, SURROGATE_NHS_NUMBER
from streams.process import process_event, process_events
from streams.refdata.loaders import load_samples

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
CATALOG = default_catalog()
CTX = StreamContext(refdata=load_samples(), pseudonymiser=Pseudonymiser(b"k" * 32))
IDENTIFIERS = ("nhs_number", "postcode", "person_birth_date", "date_of_birth")


def run(evts, ctx=CTX, batch=64):
    """Feed events through process_events, ``batch`` at a time, with a dict as the table; return the
    table, the last published record per key and the rejects."""
    table, published, rejects = {}, {}, {}
    routed_all = []
    for start in range(0, len(evts), batch):
        chunk = evts[start : start + batch]
        routed_chunk = process_events(CATALOG, ctx, chunk, table.get, NOW)
        for e, routed in zip(chunk, routed_chunk, strict=True):
            if routed.state is not None:
                table[event_key(e)] = routed.state
        routed_all += zip(chunk, routed_chunk, strict=True)
    for e, routed in routed_all:
        key = event_key(e)
        if routed.state is not None:
            table[key] = routed.state
        if routed.examination:
            rec = CATALOG.decode(routed.examination.value, EXAMINATION_RECORD)
            if key not in published or rec["version"] >= published[key]["version"]:
                published[key] = rec
        if routed.reject:
            rejects[key] = CATALOG.decode(routed.reject.value, EXAMINATION_REJECT)
    return table, published, rejects


def _final_view(published):
    return {k: (r["status"], r["imaging_code_nicip"], r["patient_source_setting"]) for k, r in published.items()}


@pytest.fixture(scope="module")
def lifecycle_events():
    config = SimulationConfig(seed=21, providers=3, invalid_rate=0.0, cancelled_rate=0.1, corrected_rate=0.2)
    evts = list(events(config, now=NOW, limit=300))
    # only what the RIS has said by now
    return [e for e in evts if e["event_time"] <= NOW]


def test_in_order_delivery_publishes_performed_examinations(lifecycle_events):
    table, published, rejects = run(lifecycle_events)
    assert published, "nothing published"
    assert not rejects
    statuses = {r["status"] for r in published.values()}
    assert statuses <= {"active", "cancelled"}
    for rec in published.values():
        for ident in IDENTIFIERS:
            assert ident not in rec
        assert rec["provider_code"] and rec["modality"]


def test_a_batch_gives_what_one_event_at_a_time_gives(lifecycle_events):
    rng = random.Random(9)
    shuffled = lifecycle_events[:120] + rng.sample(lifecycle_events[:120], 40)  # repeated keys within batches
    rng.shuffle(shuffled)
    one_by_one = run(shuffled, batch=1)
    for batch in (7, 200):
        assert run(shuffled, batch=batch) == one_by_one


def test_shuffled_and_duplicated_delivery_converges_to_the_same_view(lifecycle_events):
    _, expected, _ = run(lifecycle_events)
    rng = random.Random(5)
    shuffled = lifecycle_events + rng.sample(lifecycle_events, len(lifecycle_events) // 3)
    # shuffle within each examination's events arriving out of order
    rng.shuffle(shuffled)
    _, got, _ = run(shuffled)
    # keys whose latest event is 'requested'/'scheduled' publish nothing either way
    assert _final_view(got) == _final_view(expected)


def test_versions_only_grow_and_stale_events_change_nothing(lifecycle_events):
    table = {}
    for e in lifecycle_events:
        key = event_key(e)
        before = table.get(key)
        m = merge(before, e)
        if before is not None and m.outcome == "applied":
            assert m.state["version"] > before["version"]
        table[key] = m.state
    key = event_key(lifecycle_events[0])
    first = next(e for e in lifecycle_events if event_key(e) == key)
    late = dict(first, event_id="late-copy", event_time=first["event_time"] - timedelta(days=1))
    assert merge(table[key], late).outcome == "stale"
    assert merge(table[key], first).outcome == "duplicate"


def _performed(**items):
    config = SimulationConfig(seed=3, providers=1, invalid_rate=0.0, cancelled_rate=0.0, corrected_rate=0.0)
    e = next(e for e in events(config, now=NOW) if e["event_type"] == "performed")
    return dict(e, **items)


def test_cancellation_after_acceptance_leaves_the_current_view():
    perf = _performed()
    cancel = dict(perf, event_id="c1", event_type="cancelled", event_time=perf["event_time"] + timedelta(seconds=1))
    _, published, _ = run([perf, cancel])
    (rec,) = published.values()
    assert rec["status"] == "cancelled"


def test_correction_that_breaks_a_rule_withdraws_the_accepted_version_and_rejects():
    perf = _performed()
    bad = dict(
        perf,
        event_id="x1",
        event_type="corrected",
        patient_source_setting="99",
        event_time=perf["event_time"] + timedelta(seconds=1),
    )
    _, published, rejects = run([perf, bad])
    (rec,) = published.values()
    assert rec["status"] == "rejected"
    (rej,) = rejects.values()
    assert rej["rejects"] == ["DIDS021"]
    assert rej["failures"][0]["fields"] == ["patient_source_setting"]


def test_rejected_from_the_start_goes_only_to_rejects():
    _, published, rejects = run([_performed(diagnostic_test_date="2026-13-01")])
    assert not published
    assert "DIDS045" in next(iter(rejects.values()))["rejects"]


def test_pending_request_publishes_nothing():
    perf = _performed()
    _, published, rejects = run([dict(perf, event_type="requested", diagnostic_test_date=None)])
    assert not published and not rejects


def test_person_is_a_keyed_hash_and_restricted_codes_lose_it():
    perf = _performed(nhs_number="943 476 5919", imaging_code_nicip="XCHES", imaging_code_snomed=None)
    _, published, _ = run([perf])
    (rec,) = published.values()
    assert rec["person_id"] == CTX.pseudonymiser.person_id("9434765919") and len(rec["person_id"]) == 64
    assert rec["location_lsoa"] is not None and rec["gp_code"] is not None  # what a restricted copy loses
    restricted = _performed(nhs_number="943 476 5919", imaging_code_nicip="UFOTA", imaging_code_snomed=None)
    table, published, _ = run([restricted])
    (rec,) = published.values()
    assert rec["person_id"] == RESTRICTED_PERSON_ID and rec["restricted"] is True
    (state,) = table.values()
    assert state["person_id"] is None  # the real person is kept nowhere, the lifecycle state included
    # the published copy carries months, not dates, and no place or practice
    assert (
        rec["diagnostic_test_date"].endswith("-01")
        and rec["diagnostic_test_date"][:7] == restricted["diagnostic_test_date"][:7]
    )
    assert rec["location_lsoa"] is None and rec["gp_code"] is None


def test_withdrawn_consent_is_not_published():
    pid = CTX.pseudonymiser.person_id("9434765919")
    ctx = StreamContext(refdata=CTX.refdata, pseudonymiser=CTX.pseudonymiser, is_withdrawn=lambda p: p == pid)
    _, published, rejects = run([_performed(nhs_number="9434765919")], ctx)
    assert not published and not rejects


def test_same_accession_for_another_patient_is_flagged():
    first = _performed(nhs_number="9434765919")
    other = dict(
        first,
        event_id="o1",
        event_type="corrected",
        nhs_number="9990000018",
        event_time=first["event_time"] + timedelta(seconds=1),
    )
    _, published, _ = run([first, other])
    (rec,) = published.values()
    assert REUSED_ACCESSION in rec["flags"]


def test_a_key_repeated_in_its_submission_is_rejected_with_dids071():
    row = _performed(event_type="submitted", duplicate_in_submission=True)
    _, published, rejects = run([row])
    assert not published
    (rej,) = rejects.values()
    assert "DIDS071" in rej["rejects"]


def test_every_version_keeps_the_first_accepted_test_date():
    perf = _performed(
        diagnostic_test_request_date="2026-10-01",
        diag_test_request_rec_date="2026-10-01",
        diagnostic_test_date="2026-10-05",
        service_report_date="2026-10-06",
        event_time=NOW - timedelta(days=1),
        received_time=NOW - timedelta(days=1),
    )
    moved = dict(
        perf,
        event_id="m1",
        event_type="corrected",
        diagnostic_test_date="2026-09-28",
        diagnostic_test_request_date="2026-09-20",
        diag_test_request_rec_date="2026-09-20",
        event_time=perf["event_time"] + timedelta(seconds=1),
    )
    cancel = dict(moved, event_id="c2", event_type="cancelled", event_time=perf["event_time"] + timedelta(seconds=2))
    table, seen = {}, []
    for e in (perf, moved, cancel):
        routed = process_event(CATALOG, CTX, e, table.get(event_key(e)), NOW)
        table[event_key(e)] = routed.state
        seen.append(CATALOG.decode(routed.examination.value, EXAMINATION_RECORD))
    assert [r["status"] for r in seen] == ["active", "active", "cancelled"]
    assert seen[1]["diagnostic_test_date"] == "2026-09-28"
    assert {r["first_test_date"] for r in seen} == {"2026-10-05"}


def _later(event, event_id, **changes):
    return dict(event, event_id=event_id, event_time=event["event_time"] + timedelta(seconds=1), **changes)


@pytest.mark.parametrize(
    ("nhs_number", "stored", "rejects"),
    [("943 476 5919", SURROGATE_NHS_NUMBER, None), ("12345", "XXXXX", ["DIDS001", "DIDS002"]), (None, None, None)],
)
def test_a_restricted_state_keeps_a_surrogate_that_the_next_event_is_judged_by(nhs_number, stored, rejects):
    """Before, a restricted record's lifecycle state kept its NHS number (so its person) for good."""
    restricted = _performed(nhs_number=nhs_number, imaging_code_nicip="UFOTA", imaging_code_snomed=None)
    table, first, first_rejects = run([restricted])
    (state,) = table.values()
    assert state["items"]["nhs_number"] == stored and state["person_id"] is None
    assert "9434765919" not in repr(state)
    # a report naming no patient merges onto the stored state: the same verdict as the first time
    table, published, later_rejects = run(
        [restricted, _later(restricted, "r1", event_type="reported", nhs_number=None)]
    )
    assert table[event_key(restricted)]["items"]["nhs_number"] == stored
    if rejects:
        assert (
            not published
            and later_rejects[event_key(restricted)]["rejects"] == first_rejects[event_key(restricted)]["rejects"]
        )
        assert [c for c in later_rejects[event_key(restricted)]["rejects"] if c.startswith("DIDS00")] == rejects
    else:
        (rec,) = published.values()
        assert rec["status"] == "active" and rec["person_id"] == RESTRICTED_PERSON_ID


def test_a_surrogate_never_becomes_a_person():
    """Corrected to an ordinary code by an event that does not name the patient: no person id at all,
    not the pseudonym of the surrogate."""
    restricted = _performed(nhs_number="9434765919", imaging_code_nicip="UFOTA", imaging_code_snomed=None)
    ordinary = _later(restricted, "r2", event_type="reported", nhs_number=None, imaging_code_nicip="XCHES")
    _, published, _ = run([restricted, ordinary])
    (rec,) = published.values()
    assert rec["status"] == "active" and rec["restricted"] is False and rec["person_id"] is None
    renamed = _later(ordinary, "r3", event_type="corrected", nhs_number="9434765919")  # names the patient again
    _, published, _ = run([restricted, ordinary, renamed])
    (rec,) = published.values()
    assert rec["person_id"] == CTX.pseudonymiser.person_id("9434765919")
