"""The engine: outcomes for one record, and a whole submission with DIDS071.

DIDS071 is decided over the whole submission by the caller (``dids validate`` with
``dids.cli.validation._duplicated``) and handed to the engine as the ``duplicate`` column.
"""

from __future__ import annotations

from dataclasses import replace

import polars as pl
import pytest

from dids.cli.validation import _duplicated
from streams.columnar.checks import CHECKS
from streams.columnar.cleansing import raw_frame
from streams.columnar.engine import Options, prepare, with_metadata
from streams.rules import UNIQUENESS_CODE, Context
from streams.rules.context import GracePeriod
from streams.rules.registry import RECORD_RULES
from tests.unit.streams.one_record import derive, judge, judge_many
from tests.unit.streams.rules.fixtures import BASE, CONTEXTS, REFDATA, record


def duplicated(rows: list[dict[str, str | None]]) -> list[bool]:
    """DIDS071 over ``rows`` as one submission: does each record's key repeat in it."""
    return raw_frame(rows).select(_duplicated()).to_series().to_list()


def test_clean_record_is_accepted_with_nothing_to_report() -> None:
    outcome = judge(BASE, CONTEXTS["full"])
    assert outcome.accepted
    assert (outcome.rejects, outcome.warnings, outcome.not_checked) == ([], [], [])
    assert [code for code in outcome.results if code != UNIQUENESS_CODE] == [rule.code for rule in RECORD_RULES]
    assert all(outcome.kind(code) == "pass" for code in outcome.results)


def test_every_failure_is_reported_and_codes_are_sorted() -> None:
    bad = record(
        nhs_number="943476591",
        referrer="ZE1234",
        diagnostic_test_request_date="2022-12-01",
        diag_test_request_rec_date="2022-12-01",
        diagnostic_test_date="2023-12-31",
        service_report_date="2024-01-02",
    )
    outcome = judge(bad, CONTEXTS["full"])
    assert not outcome.accepted
    assert outcome.rejects == ["DIDS001", "DIDS002", "DIDS055"]
    assert outcome.warnings == ["DIDS023", "DIDS028", "DIDS038"]
    assert derive(bad, REFDATA)["REFERRER_CODE"] == "99"
    assert bad["referrer"] == "ZE1234"  # the record is never rewritten


def test_warnings_alone_keep_the_record() -> None:
    outcome = judge(record(referrer="nonsense"), CONTEXTS["full"])
    assert outcome.accepted
    assert outcome.warnings == ["DIDS023"]


def test_missing_reference_data_is_reported_as_not_checked_never_passed() -> None:
    outcome = judge(BASE, CONTEXTS["bare"])
    assert outcome.accepted
    assert outcome.not_checked == [
        "DIDS016", "DIDS018", "DIDS024", "DIDS049", "DIDS051", "DIDS055", "DIDS057", "DIDS059",
        "DIDS066", "DIDS068", "DIDS077", "DIDS078", "DIDS079", "DIDS080", "DIDS081", "DIDS082",
    ]  # fmt: skip
    assert all(outcome.kind(code) == "not_checked" for code in outcome.not_checked)


def test_malformed_snomed_still_fails_without_the_table() -> None:
    outcome = judge(record(imaging_code_snomed="77477001"), CONTEXTS["bare"])
    assert outcome.rejects == ["DIDS059"]


def test_check_asked_without_its_table_raises_instead_of_passing() -> None:
    # without the postcode directory the batch has no answers to look at (the engine reports not checked)
    frame = prepare(with_metadata(raw_frame([BASE])), Options())
    with pytest.raises(pl.exceptions.ColumnNotFoundError):
        frame.select(CHECKS["DIDS016"].fails[0][0])


def test_submission_rejects_every_member_of_a_duplicate_group() -> None:
    records = [
        record(radiological_accession_num="A1"),
        record(radiological_accession_num="A2"),
        record(radiological_accession_num="A1"),
        record(radiological_accession_num="A1", nhs_number="0123456789"),
        record(site_code_imaging="RX101", radiological_accession_num="A2"),  # other site: not a duplicate
    ]
    duplicate = duplicated(records)
    assert duplicate == [True, False, True, True, False]
    outcomes = judge_many(records, CONTEXTS["full"], duplicate=duplicate)
    assert [o.accepted for o in outcomes] == [False, True, False, False, True]
    assert [("DIDS071" in o.rejects) for o in outcomes] == [True, False, True, True, False]
    assert outcomes[3].rejects == ["DIDS001", "DIDS071"]
    fail = [f for f in outcomes[0].failures if f[0] == "DIDS071"]
    assert fail == [("DIDS071", "REJECT_RECORD", ("site_code_imaging", "radiological_accession_num"))]
    assert outcomes[1].kind("DIDS071") == "pass"


def test_duplicates_group_on_trimmed_exact_keys() -> None:
    rows = [
        {"site_code_imaging": "RR801", "radiological_accession_num": "a1"},
        {"site_code_imaging": " RR801 ", "radiological_accession_num": "a1 "},
        {"site_code_imaging": "RR801", "radiological_accession_num": "A1"},  # case differs
        {"site_code_imaging": "rr801", "radiological_accession_num": "a1"},
        {"site_code_imaging": "RR801", "radiological_accession_num": "B7"},
        {"site_code_imaging": "RR801", "radiological_accession_num": "B7"},
        {"site_code_imaging": "RR801", "radiological_accession_num": "B7"},
    ]
    assert duplicated(rows) == [True, True, False, False, True, True, True]


def test_duplicates_leave_out_rows_missing_a_key_part() -> None:
    rows = [
        {"site_code_imaging": "RR801"},
        {"site_code_imaging": "RR801"},
        {"radiological_accession_num": "A1"},
        {"radiological_accession_num": "A1"},
        {"site_code_imaging": "RR801", "radiological_accession_num": ""},
        {"site_code_imaging": "RR801", "radiological_accession_num": " "},
    ]
    duplicate = duplicated(rows)
    assert duplicate == [False] * len(rows)
    outcomes = judge_many(rows, Context(), duplicate=duplicate)
    assert all("DIDS071" not in o.rejects for o in outcomes)
    assert all("DIDS067" in o.rejects or "DIDS070" in o.rejects for o in outcomes)


def test_a_record_from_no_submission_is_not_judged_for_duplicates() -> None:
    assert judge(BASE, CONTEXTS["full"]).kind("DIDS071") == "pass"
    assert judge(BASE, CONTEXTS["full"], duplicate=True).rejects == ["DIDS071"]


def test_empty_submission() -> None:
    assert judge_many([], Context(), duplicate=[]) == []


def test_submission_time_is_taken_in_utc() -> None:
    # 2024-07-10 23:30 at UTC-1: the date of S is 2024-07-11, so a test that day is not in the future
    west = CONTEXTS["late_evening_west"]
    assert judge(record(diagnostic_test_date="2024-07-11"), west).kind("DIDS051") == "pass"
    assert judge(record(diagnostic_test_date="2024-07-12"), west).kind("DIDS051") == "fail"
    # a naive time is UTC (the engine takes S as epoch ms; its callers, one_record among them, convert)
    naive = replace(CONTEXTS["full"], submission_time=CONTEXTS["full"].submission_time.replace(tzinfo=None))
    assert judge(record(diagnostic_test_date="2024-07-10"), naive).kind("DIDS051") == "pass"
    assert judge(record(diagnostic_test_date="2024-07-11"), naive).kind("DIDS051") == "fail"


@pytest.mark.parametrize(("amount", "unit"), [(-1, "months"), (6, "weeks")])
def test_grace_period_is_checked(amount: int, unit: str) -> None:
    with pytest.raises(ValueError):
        GracePeriod(amount, unit)  # type: ignore[arg-type]
