"""The stream's feedback to the HL7 listener (pure): which events get one, and what it says."""

from __future__ import annotations

from datetime import datetime, timezone

from dids.kernel.pseudonyms import Pseudonymiser
from producers.generator import SimulationConfig, events
from schemas.catalog import EXAMINATION_FEEDBACK, default_catalog
from streams.evaluate import StreamContext
from streams.feedback import feedback_records
from streams.process import process_events
from streams.refdata.loaders import load_samples

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
CATALOG = default_catalog()
CTX = StreamContext(refdata=load_samples(), pseudonymiser=Pseudonymiser(b"k" * 32))
INVALID = "1234567890"


def _event(seed: int, kind: str, source: str = "hl7", **items) -> dict:
    event = next(events(SimulationConfig(seed=seed, invalid_rate=0.0, restricted_rate=0.0), now=NOW, limit=1))
    day = "2026-11-19"
    dates = {"diagnostic_test_request_date": day, "diag_test_request_rec_date": day}
    if kind != "requested":
        dates |= {"diagnostic_test_date": day, "service_report_date": day}
    else:
        dates |= {"diagnostic_test_date": None, "service_report_date": None}
    return dict(event, event_type=kind, source=source, received_time=NOW, **dates) | items


def _feedback(batch: list[dict]) -> list[dict]:
    table: dict = {}
    routed = process_events(CATALOG, CTX, batch, table.get, NOW)
    return feedback_records(batch, routed, NOW)


def test_only_hl7_events_get_feedback_with_codes_severities_and_items_never_values():
    batch = [
        _event(1, "reported", nhs_number=INVALID),
        _event(2, "reported"),
        _event(3, "reported", source="simulator", nhs_number=INVALID),
    ]
    rejected, accepted = _feedback(batch)
    assert rejected["event_id"] == batch[0]["event_id"] and rejected["verdict"] == "rejected"
    (nhs,) = [f for f in rejected["failures"] if f["code"] == "DIDS001"]
    assert nhs["severity"] == "error" and nhs["fields"] == ["nhs_number"] and "NHS number" in nhs["description"]
    assert accepted["verdict"] == "accepted"
    assert all(f["severity"] == "warning" for f in accepted["failures"])
    for record in (rejected, accepted):
        encoded = CATALOG.encode(EXAMINATION_FEEDBACK, record)  # fits the schema
        for value in (INVALID, batch[0]["postcode"], batch[0]["person_birth_date"]):
            assert value.encode() not in encoded


def test_a_pending_order_reports_what_already_fails_but_not_its_missing_test_date():
    bad, good = _feedback([_event(4, "requested", nhs_number=INVALID), _event(5, "requested")])
    assert bad["verdict"] == good["verdict"] == "pending"
    codes = {f["code"] for f in bad["failures"]}
    assert "DIDS001" in codes and "DIDS050" not in codes
    assert not [f for f in good["failures"] if f["severity"] == "error"]


def test_a_resend_is_a_duplicate_judged_again_and_an_older_event_is_stale():
    first = _event(6, "reported", nhs_number=INVALID)
    older = dict(_event(6, "performed"), event_id="older", event_time=datetime(2026, 1, 1, tzinfo=timezone.utc))
    original, resend, stale = _feedback([first, dict(first), older])
    assert (original["duplicate"], resend["duplicate"]) == (False, True)
    assert original["verdict"] == resend["verdict"] == "rejected"
    assert [f["code"] for f in original["failures"]] == [f["code"] for f in resend["failures"]]
    assert stale["verdict"] == "stale" and stale["failures"] == []
