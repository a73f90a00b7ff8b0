"""Day intervals, national dates, code-list labels, NHS-number flag, month/year of test (DIDS-SPEC §7.3)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from .fixtures import derived_by_key, record

DATES = (
    "person_birth_date",
    "diagnostic_test_request_date",
    "diag_test_request_rec_date",
    "diagnostic_test_date",
    "service_report_date",
)
NATIONAL_DATES = (
    "DATE_OF_BIRTH",
    "DIAGNOSTIC_TEST_REQUEST_DATE",
    "DIAGNOSTIC_TEST_REQUEST_RECEIVED_DATE",
    "DIAGNOSTIC_TEST_DATE",
    "SERVICE_REPORT_ISSUE_DATE",
)

DAYS = [
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
]
DATE_TEXTS = [("2024-06-10", "2024-06-10"), ("2024-02-30", None), ("10/06/2024", None), (None, None)]
STATUS_CODES = ["01", "04", "08", None, "09", "1", "00"]
NHS_NUMBERS = [("9434765919", 1), ("123", 1), (None, 0), ("", 0), ("  ", 0)]
ETHNIC = [
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
]
GENDERS = [
    ("0", 0, "Not Known"), ("1", 1, "Male"), ("2", 2, "Female"), ("9", 9, "Not Specified"), ("3", None, None),
    ("01", None, None), (None, None, None), ("M", None, None),
]  # fmt: skip
SOURCE_SETTINGS = ["04", "07", "05", "4", "08", None]
TEST_DATES = [("2024-06-10", (6, 2024)), ("2025-03-31", (3, 2025)), ("2024-13-01", (None, None)), (None, (None, None))]


def between(start: str | None, end: str | None) -> dict[str, str | None]:
    """A record requested on ``start`` and tested on ``end``: TEST_REQUEST_TO_TEST is ``end - start``."""
    return {"diagnostic_test_request_date": start, "diagnostic_test_date": end}


def dated(text: str | None) -> dict[str, str | None]:
    """A record with ``text`` in every date item."""
    return dict.fromkeys(DATES, text)


def _key(items: Mapping[str, Any]) -> tuple:
    return tuple(sorted(items.items()))


@pytest.fixture(scope="module")
def derived() -> Callable[[Mapping[str, Any]], dict[str, Any]]:
    """The derived record of each record the tests below ask about, all of them derived in one batch."""
    records = [
        *(between(start, end) for start, end, _ in DAYS),
        *(dated(text) for text, _ in DATE_TEXTS),
        *({"nhs_number_status_ind": code} for code in STATUS_CODES),
        *({"nhs_number": number} for number, _ in NHS_NUMBERS),
        *({"ethnic_category": code} for code, *_ in ETHNIC),
        *({"person_gender_code": code} for code, *_ in GENDERS),
        *({"patient_source_setting": code} for code in SOURCE_SETTINGS),
        *({"diagnostic_test_date": test} for test, _ in TEST_DATES),
        record(),
        record(service_report_date=None),
    ]
    by_key = derived_by_key({_key(items): items for items in records})
    return lambda items: by_key[_key(items)]


@pytest.mark.parametrize(("start", "end", "days"), DAYS)
def test_days_between(start: str | None, end: str | None, days: int | None, derived) -> None:
    assert derived(between(start, end))["TEST_REQUEST_TO_TEST"] == days


def test_the_six_intervals(derived) -> None:
    # request 06-03, received 06-04, test 06-10, report 06-12
    intervals = {
        "TEST_REQUEST_TO_TEST_REQUEST_RECEIVED": 1,
        "TEST_REQUEST_TO_TEST": 7,
        "TEST_REQUEST_TO_SERVICE_REPORT_ISSUED": 9,
        "TEST_REQUEST_RECEIVED_TO_TEST": 6,
        "TEST_REQUEST_RECEIVED_TO_SERVICE_REPORT_ISSUED": 8,
        "TEST_TO_SERVICE_REPORT_ISSUED": 2,
    }
    assert {column: derived(record())[column] for column in intervals} == intervals
    blank_report = derived(record(service_report_date=None))
    assert blank_report["TEST_TO_SERVICE_REPORT_ISSUED"] is None
    assert blank_report["TEST_REQUEST_TO_TEST"] == 7


@pytest.mark.parametrize(("text", "expected"), DATE_TEXTS)
def test_national_date(text: str | None, expected: str | None, derived) -> None:
    # the same rule for all five national dates
    assert [derived(dated(text))[column] for column in NATIONAL_DATES] == [expected] * 5


def test_nhs_number_status_labels(derived) -> None:
    def status(code: str | None) -> str | None:
        return derived({"nhs_number_status_ind": code})["NHS_NUMBER_STATUS_DESCRIPTION"]

    assert status("01") == "Number present and verified"
    assert status("04") == "Trace attempted - No match or multiple match found"
    assert status("08") == "Trace postponed (baby under six weeks old)"
    assert [status(c) for c in (None, "09", "1", "00")] == [None] * 4


@pytest.mark.parametrize(("nhs_number", "flag"), NHS_NUMBERS)
def test_nhs_number_supplied(nhs_number: str | None, flag: int, derived) -> None:
    assert derived({"nhs_number": nhs_number})["NHS_NUMBER_SUPPLIED"] == flag


@pytest.mark.parametrize(("code", "description", "group"), ETHNIC)
def test_ethnic_category(code: str | None, description: str | None, group: str | None, derived) -> None:
    row = derived({"ethnic_category": code})
    assert row["ETHNIC_CATEGORY_DESCRIPTION"] == description
    assert row["ETHNIC_CATEGORY_GROUP"] == group


@pytest.mark.parametrize(("code", "number", "label"), GENDERS)
def test_gender(code: str | None, number: int | None, label: str | None, derived) -> None:
    row = derived({"person_gender_code": code})
    assert row["GENDER_CODE"] == number
    assert row["GENDER_DESCRIPTION"] == label


def test_patient_source_setting_labels(derived) -> None:
    def setting(code: str | None) -> str | None:
        return derived({"patient_source_setting": code})["PATIENT_SOURCE_SETTING_DESCRIPTION"]

    assert setting("04") == "GP Direct Access"
    assert setting("07") == "Other"
    assert setting("05") == "Accident and Emergency Department (this Health Care Provider)"
    assert [setting(c) for c in ("4", "08", None)] == [None] * 3


@pytest.mark.parametrize(("test", "expected"), TEST_DATES)
def test_month_and_year_of_test_are_calendar(
    test: str | None, expected: tuple[int | None, int | None], derived
) -> None:
    row = derived({"diagnostic_test_date": test})
    assert (row["MONTH_OF_TEST"], row["YEAR_OF_TEST"]) == expected
