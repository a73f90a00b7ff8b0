"""Day intervals, national dates, code-list labels, NHS-number flag, month/year of test (DIDS-SPEC §7.3)."""

from __future__ import annotations

import pytest

from streams.derive import codes
from streams.derive.intervals import days_between, derive_intervals, national_date

from .fixtures import record


@pytest.mark.parametrize(
    ("start", "end", "days"),
    [
        ("2023-12-31", "2024-01-01", 1),
        ("2024-02-28", "2024-03-01", 2),
        ("2023-02-28", "2023-03-01", 1),
        ("2024-06-10", "2024-06-10", 0),
        ("2024-06-10", "2024-06-03", -7),
        ("2023-06-10", "2024-06-10", 366),
        (None, "2024-06-10", None),
        ("2024-06-10", None, None),
        ("2024-02-30", "2024-03-01", None),
        ("2024-6-1", "2024-06-10", None),
    ],
)
def test_days_between(start: str | None, end: str | None, days: int | None) -> None:
    assert days_between(start, end) == days


def test_the_six_intervals() -> None:
    # request 06-03, received 06-04, test 06-10, report 06-12
    assert derive_intervals(record()) == {
        "TEST_REQUEST_TO_TEST_REQUEST_RECEIVED": 1,
        "TEST_REQUEST_TO_TEST": 7,
        "TEST_REQUEST_TO_SERVICE_REPORT_ISSUED": 9,
        "TEST_REQUEST_RECEIVED_TO_TEST": 6,
        "TEST_REQUEST_RECEIVED_TO_SERVICE_REPORT_ISSUED": 8,
        "TEST_TO_SERVICE_REPORT_ISSUED": 2,
    }
    blank_report = derive_intervals(record(service_report_date=None))
    assert blank_report["TEST_TO_SERVICE_REPORT_ISSUED"] is None
    assert blank_report["TEST_REQUEST_TO_TEST"] == 7


@pytest.mark.parametrize(
    ("text", "expected"), [("2024-06-10", "2024-06-10"), ("2024-02-30", None), ("10/06/2024", None), (None, None)]
)
def test_national_date(text: str | None, expected: str | None) -> None:
    assert national_date(text) == expected


def test_nhs_number_status_labels() -> None:
    assert codes.nhs_number_status_description("01") == "Number present and verified"
    assert codes.nhs_number_status_description("04") == "Trace attempted - No match or multiple match found"
    assert codes.nhs_number_status_description("08") == "Trace postponed (baby under six weeks old)"
    assert [codes.nhs_number_status_description(c) for c in (None, "09", "1", "00")] == [None] * 4


@pytest.mark.parametrize(("nhs_number", "flag"), [("9434765919", 1), ("123", 1), (None, 0), ("", 0), ("  ", 0)])
def test_nhs_number_supplied(nhs_number: str | None, flag: int) -> None:
    assert codes.nhs_number_supplied(nhs_number) == flag


@pytest.mark.parametrize(
    ("code", "description", "group"),
    [
        ("A", "British", "White"),
        ("a", "British", "White"),  # description and group lookups upper-case (DIDS012 still rejects "a")
        ("G", "Any other mixed background", "Mixed"),
        ("L", "Any other Asian background", "Asian or Asian British"),
        ("P", "Any other Black background", "Black or Black British"),
        ("R", "Chinese", "Other Ethnic Groups"),
        ("S", "Any other ethnic group", "Other Ethnic Groups"),
        ("Z", "Not stated", "Not stated"),
        ("99", "Not Known", None),
        (None, None, None),
        ("I", None, None),
    ],
)
def test_ethnic_category(code: str | None, description: str | None, group: str | None) -> None:
    assert codes.ethnic_category_description(code) == description
    assert codes.ethnic_category_group(code) == group


@pytest.mark.parametrize(
    ("code", "number", "label"),
    [("0", 0, "Not Known"), ("1", 1, "Male"), ("2", 2, "Female"), ("9", 9, "Not Specified"), ("3", None, None),
     ("01", None, None), (None, None, None), ("M", None, None)],
)  # fmt: skip
def test_gender(code: str | None, number: int | None, label: str | None) -> None:
    assert codes.gender_code(code) == number
    assert codes.gender_description(code) == label


def test_patient_source_setting_labels() -> None:
    assert codes.patient_source_setting_description("04") == "GP Direct Access"
    assert codes.patient_source_setting_description("07") == "Other"
    assert codes.patient_source_setting_description("05") == (
        "Accident and Emergency Department (this Health Care Provider)"
    )
    assert [codes.patient_source_setting_description(c) for c in ("4", "08", None)] == [None] * 3


@pytest.mark.parametrize(
    ("test", "expected"),
    [("2024-06-10", (6, 2024)), ("2025-03-31", (3, 2025)), ("2024-13-01", (None, None)), (None, (None, None))],
)
def test_month_and_year_of_test_are_calendar(test: str | None, expected: tuple[int | None, int | None]) -> None:
    assert codes.month_and_year_of_test(test) == expected
