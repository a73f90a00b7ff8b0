"""The stream processor's per-message work (decode, derive, route), without Faust or Kafka."""

from __future__ import annotations

from datetime import datetime, timezone

from schemas.catalog import EXAMINATION_EVENT, EXAMINATION_RECORD, default_catalog
from streams.derive_basic import month_and_year_of_test, provider_code_from_site
from streams.process import DeadLetter, Output, process_message

EVENT = {
    "event_id": "e-1",
    "event_type": "performed",
    "event_time": datetime(2026, 10, 5, 9, 30, tzinfo=timezone.utc),
    "received_time": datetime(2026, 10, 5, 9, 30, 2, tzinfo=timezone.utc),
    "source": "simulator",
    "submission_id": None,
    "submitter_org": None,
    "row_number": None,
    "nhs_number": "943 476 5919",
    "nhs_number_status_ind": "01",
    "person_birth_date": "1950-02-01",
    "ethnic_category": "A",
    "person_gender_code": "2",
    "postcode": "LS1 4AP",
    "practice_code": "B86001",
    "patient_source_setting": "04",
    "referrer": "G1234567",
    "referring_org_code": "B86001",
    "diagnostic_test_request_date": "2026-09-20",
    "diag_test_request_rec_date": "2026-09-21",
    "diagnostic_test_date": " 2026-10-05 ",
    "imaging_code_nicip": "xches",
    "imaging_code_snomed": None,
    "service_report_date": "2026-10-06",
    "site_code_imaging": " RR801",
    "radiological_accession_num": "ACC0001 ",
}


def test_event_becomes_a_keyed_record_without_identifiers():
    catalog = default_catalog()
    out = process_message(catalog, catalog.encode(EXAMINATION_EVENT, EVENT))
    assert isinstance(out, Output)
    assert out.key == "RR801|ACC0001"
    record = catalog.decode(out.value, EXAMINATION_RECORD)
    assert record["provider_code"] == "RR8"
    assert (record["month_of_test"], record["year_of_test"]) == (10, 2026)
    assert record["diagnostic_test_date"] == "2026-10-05"
    assert record["imaging_code_nicip"] == "XCHES"
    assert record["version"] == int(EVENT["event_time"].timestamp() * 1000)
    text = repr(record)
    for identifier in ("9434765919", "943 476 5919", "LS1 4AP", "1950-02-01"):
        assert identifier not in text


def test_garbage_goes_to_the_dead_letter_topic_with_a_reason():
    out = process_message(default_catalog(), b"\xc3\x01" + b"\x11" * 8 + b"junk")
    assert isinstance(out, DeadLetter)
    assert out.error == "UnknownSchemaError"
    headers = dict(out.headers("dids.ris.events", 1, 42))
    assert headers["dids.source.offset"] == b"42"
    assert headers["dids.error"] == b"UnknownSchemaError"


def test_tombstone_is_dead_lettered():
    assert isinstance(process_message(default_catalog(), None), DeadLetter)


def test_month_of_test_and_provider_code():
    assert month_and_year_of_test("2024-02-29") == (2, 2024)
    assert month_and_year_of_test("2023-02-29") == (None, None)
    assert month_and_year_of_test("01/02/2024") == (None, None)
    assert month_and_year_of_test(None) == (None, None)
    assert provider_code_from_site("RR801") == "RR8"
    assert provider_code_from_site("89999") is None
    assert provider_code_from_site("R9998") is None
    assert provider_code_from_site("") is None
