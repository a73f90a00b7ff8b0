"""The engine: outcomes for one record, and a whole submission with DIDS071."""

from __future__ import annotations

from dataclasses import replace

import pytest

from streams.cleanse import CleansedRecord, cleanse
from streams.rules import Context, Fail, NotChecked, Pass, Severity, validate, validate_submission
from streams.rules.accession import find_duplicates
from streams.rules.context import GracePeriod, MissingInputError
from streams.rules.demographics import check_postcode_known
from streams.rules.registry import RECORD_RULES
from tests.unit.streams.rules.fixtures import BASE, CONTEXTS, record


def test_clean_record_is_accepted_with_nothing_to_report() -> None:
    outcome = validate(BASE, CONTEXTS["full"])
    assert outcome.accepted
    assert (outcome.rejects, outcome.warnings, outcome.not_checked) == ([], [], [])
    assert [r.code for r in outcome.results] == [rule.code for rule in RECORD_RULES]
    assert all(isinstance(r, Pass) for r in outcome.results)


def test_every_failure_is_reported_and_codes_are_sorted() -> None:
    bad = record(
        nhs_number="943476591",
        referrer="ZE1234",
        diagnostic_test_request_date="2022-12-01",
        diag_test_request_rec_date="2022-12-01",
        diagnostic_test_date="2023-12-31",
        service_report_date="2024-01-02",
    )
    outcome = validate(bad, CONTEXTS["full"])
    assert not outcome.accepted
    assert outcome.rejects == ["DIDS001", "DIDS002", "DIDS055"]
    assert outcome.warnings == ["DIDS023", "DIDS028", "DIDS038"]
    referrer = next(f for f in outcome.failures if f.code == "DIDS023")
    assert dict(referrer.derived) == {"referrer_code": "99"}
    assert bad.referrer == "ZE1234"  # the record is never rewritten


def test_warnings_alone_keep_the_record() -> None:
    outcome = validate(record(referrer="nonsense"), CONTEXTS["full"])
    assert outcome.accepted
    assert outcome.warnings == ["DIDS023"]


def test_missing_reference_data_is_reported_as_not_checked_never_passed() -> None:
    outcome = validate(BASE, CONTEXTS["bare"])
    assert outcome.accepted
    assert outcome.not_checked == [
        "DIDS016", "DIDS018", "DIDS024", "DIDS049", "DIDS051", "DIDS055", "DIDS057", "DIDS059",
        "DIDS066", "DIDS068", "DIDS077", "DIDS078", "DIDS079", "DIDS080", "DIDS081", "DIDS082",
    ]  # fmt: skip
    reasons = {r.code: r.reason for r in outcome.results if isinstance(r, NotChecked)}
    assert reasons["DIDS016"] == "missing ONS postcode directory"
    assert reasons["DIDS051"] == "missing submission time"
    assert reasons["DIDS082"] == "missing NICIP table, imaging SNOMED table"


def test_malformed_snomed_still_fails_without_the_table() -> None:
    outcome = validate(record(imaging_code_snomed="77477001"), CONTEXTS["bare"])
    assert outcome.rejects == ["DIDS059"]


def test_rule_called_directly_without_its_table_raises_instead_of_passing() -> None:
    with pytest.raises(MissingInputError):
        check_postcode_known(BASE, Context())


def test_submission_rejects_every_member_of_a_duplicate_group() -> None:
    records = [
        record(radiological_accession_num="A1"),
        record(radiological_accession_num="A2"),
        record(radiological_accession_num="A1"),
        record(radiological_accession_num="A1", nhs_number="0123456789"),
        record(site_code_imaging="RX101", radiological_accession_num="A2"),  # other site: not a duplicate
    ]
    outcomes = validate_submission(records, CONTEXTS["full"])
    assert [o.accepted for o in outcomes] == [False, True, False, False, True]
    assert [("DIDS071" in o.rejects) for o in outcomes] == [True, False, True, True, False]
    assert outcomes[3].rejects == ["DIDS001", "DIDS071"]
    fail = next(r for r in outcomes[0].results if r.code == "DIDS071")
    assert fail == Fail("DIDS071", Severity.REJECT_RECORD, ("site_code_imaging", "radiological_accession_num"))
    assert any(isinstance(r, Pass) and r.code == "DIDS071" for r in outcomes[1].results)


def test_find_duplicates_groups_on_trimmed_exact_keys() -> None:
    rows = [
        cleanse({"site_code_imaging": "RR801", "radiological_accession_num": "a1"}),
        cleanse({"site_code_imaging": " RR801 ", "radiological_accession_num": "a1 "}),
        cleanse({"site_code_imaging": "RR801", "radiological_accession_num": "A1"}),  # case differs
        cleanse({"site_code_imaging": "rr801", "radiological_accession_num": "a1"}),
        cleanse({"site_code_imaging": "RR801", "radiological_accession_num": "B7"}),
        cleanse({"site_code_imaging": "RR801", "radiological_accession_num": "B7"}),
        cleanse({"site_code_imaging": "RR801", "radiological_accession_num": "B7"}),
    ]
    assert find_duplicates(rows) == {
        0: ("RR801", "a1"),
        1: ("RR801", "a1"),
        4: ("RR801", "B7"),
        5: ("RR801", "B7"),
        6: ("RR801", "B7"),
    }


def test_find_duplicates_leaves_out_rows_missing_a_key_part() -> None:
    rows = [
        CleansedRecord(site_code_imaging="RR801"),
        CleansedRecord(site_code_imaging="RR801"),
        CleansedRecord(radiological_accession_num="A1"),
        CleansedRecord(radiological_accession_num="A1"),
        CleansedRecord(site_code_imaging="RR801", radiological_accession_num=""),
        CleansedRecord(site_code_imaging="RR801", radiological_accession_num=" "),
    ]
    assert find_duplicates(rows) == {}
    outcomes = validate_submission(rows, Context())
    assert all("DIDS071" not in o.rejects for o in outcomes)
    assert all("DIDS067" in o.rejects or "DIDS070" in o.rejects for o in outcomes)


def test_empty_submission() -> None:
    assert validate_submission([], Context()) == []


def test_submission_time_is_taken_in_utc() -> None:
    assert CONTEXTS["late_evening_west"].submission_date == (2024, 7, 11)
    naive = replace(CONTEXTS["full"], submission_time=CONTEXTS["full"].submission_time.replace(tzinfo=None))
    assert naive.submission_date == (2024, 7, 10)


@pytest.mark.parametrize(("amount", "unit"), [(-1, "months"), (6, "weeks")])
def test_grace_period_is_checked(amount: int, unit: str) -> None:
    with pytest.raises(ValueError):
        GracePeriod(amount, unit)  # type: ignore[arg-type]
