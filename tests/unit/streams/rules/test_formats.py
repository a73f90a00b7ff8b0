"""The shared format helpers: dates (§1.3), month arithmetic, NHS number (§5), SNOMED CT ids (§6).

The §7 patterns (postcode, referrer, site code) are column expressions (``streams.columnar.checks``):
their cases are rule cases of DIDS017, DIDS023 and DIDS069 (cases.py).
"""

from __future__ import annotations

from datetime import date

import nhs_number as nhs_number_package
import pytest

from dids.kernel.nhs_number import is_valid_nhs_number
from streams.formats import (
    CalendarDate,
    add_months,
    is_valid_date,
    is_valid_snomed_id,
    month_index,
    parse_calendar_date,
    parse_date,
    verhoeff_check_digit,
    verhoeff_is_valid,
)

# ---- dates ----


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-02-29", date(2024, 2, 29)),
        ("2000-02-29", date(2000, 2, 29)),
        ("2023-12-31", date(2023, 12, 31)),
        ("0001-01-01", date(1, 1, 1)),
        ("9999-12-31", date(9999, 12, 31)),
    ],
)
def test_parse_date_valid(text: str, expected: date) -> None:
    assert parse_date(text) == expected
    assert is_valid_date(text)


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "2023-02-29",  # not a leap year
        "1900-02-29",  # century, not divisible by 400
        "2100-02-29",
        "2023-02-00",  # day 00: a format error (the national pattern lets it through)
        "2023-00-10",
        "2023-13-01",
        "2023-04-31",
        "2023-1-01",
        "2023-01-1",
        "01/02/2024",
        "20240201",
        "2024-02-01T00:00",
        " 2024-02-01",
        "2024-02-01\n",
        "2024/02/01",
        "٢٠٢٤-٠٢-٠١",  # Arabic-Indic digits are not CCYY-MM-DD
    ],
)
def test_parse_date_invalid(text: str | None) -> None:
    assert parse_date(text) is None
    assert not is_valid_date(text)


def test_year_0000_is_valid_but_has_no_python_date() -> None:
    assert is_valid_date("0000-02-29")  # year 0 is a leap year in the proleptic calendar
    assert not is_valid_date("0000-02-30")
    assert parse_date("0000-02-29") is None
    assert parse_calendar_date("0000-02-29") == CalendarDate(0, 2, 29)


def test_calendar_date_ordinal_matches_date_and_continues_through_year_0() -> None:
    for d in (date(1, 1, 1), date(1970, 1, 1), date(2024, 2, 29), date(9999, 12, 31)):
        assert CalendarDate.from_date(d).ordinal == d.toordinal()
    assert CalendarDate(0, 12, 31).ordinal == 0
    assert CalendarDate(0, 1, 1).ordinal == -365  # 366 days in year 0
    assert CalendarDate(10000, 1, 1).ordinal == date(9999, 12, 31).toordinal() + 1


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2023, 1, 31), 1, date(2023, 2, 28)),
        (date(2024, 2, 29), 1, date(2024, 3, 29)),  # a month end is not carried to the next month end
        (date(2024, 8, 31), 6, date(2025, 2, 28)),
        (date(2024, 3, 31), -1, date(2024, 2, 29)),
        (date(2024, 1, 15), -6, date(2023, 7, 15)),
        (date(2024, 12, 15), 1, date(2025, 1, 15)),
        (date(2024, 5, 31), 0, date(2024, 5, 31)),
    ],
)
def test_add_months_clamps_to_month_end(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected


def test_add_months_outside_python_dates_raises() -> None:
    with pytest.raises(ValueError):
        add_months(date(1, 3, 1), -6)
    assert CalendarDate(1, 3, 1).add_months(-6) == CalendarDate(0, 9, 1)


def test_month_index() -> None:
    assert month_index(date(2024, 7, 10)) - month_index(date(2024, 1, 1)) == 6
    assert month_index(CalendarDate(2024, 1, 31)) == 2024 * 12 + 1


# ---- NHS number ----


@pytest.mark.parametrize(
    "value",
    ["9434765919", "0130000000", "9990000018", "6978008796", "4628338264", "1234554321"],  # the last 3: mirrors
)
def test_valid_nhs_numbers(value: str) -> None:
    assert is_valid_nhs_number(value)


@pytest.mark.parametrize(
    "value",
    [
        "0123456789",  # passes modulus 11 but on the published reject list: deliberate departure
        "1234567890",  # check digit would be 10
        "1000000001",  # N00000000N: passes modulus 11, refused by the published list
        "5000000005",
        "0000000000",
        "9434765918",
        "943 476 5919",  # not cleansed: the helper takes cleansed values only
        "943476591",
        "94347659190",
        "ABCDEFGHIJ",
        "",
        None,
    ],
)
def test_invalid_nhs_numbers(value: str | None) -> None:
    assert not is_valid_nhs_number(value)


def test_nhs_number_package_disagrees_with_the_spec_where_we_do_not_use_it() -> None:
    """Why only its modulus-11 step is used: ``nhs_number.is_valid`` departs from DIDS-RULES §5."""
    assert nhs_number_package.is_valid("5000000005")  # N00000000N: the published list refuses it
    assert nhs_number_package.is_valid("0000000000")
    assert not nhs_number_package.is_valid("0130000000")  # CHI date check: the spec accepts it
    assert nhs_number_package.calculate_checksum("943476591") == 9
    assert nhs_number_package.calculate_checksum("123456789") == 10  # never equals a digit: invalid


# ---- SNOMED CT ----


@pytest.mark.parametrize(
    "value", ["77477000", "169069000", "718431003", "1833431000000104", "999001111000000105", "22298006"]
)
def test_well_formed_snomed_ids(value: str) -> None:
    assert is_valid_snomed_id(value)


@pytest.mark.parametrize(
    "value",
    [
        "77477001",  # Verhoeff fails
        "77477016",  # Verhoeff passes, but partition 01 is a description id
        "12345",  # too short
        "1" * 19,  # too long
        "7747700A",
        "77477000:408730004=77477000",  # expressions are not accepted in DIDS
        "",
        None,
    ],
)
def test_malformed_snomed_ids(value: str | None) -> None:
    assert not is_valid_snomed_id(value)


def test_verhoeff_worked_example_and_check_digit() -> None:
    assert verhoeff_is_valid("77477000")
    assert not verhoeff_is_valid("77477001")
    assert verhoeff_check_digit("7747700") == 0
    assert verhoeff_check_digit("183343100000010") == 4
