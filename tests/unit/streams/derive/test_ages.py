"""AGE_AT_EVENT (the 29 February rule) and the six age bands at every boundary (DIDS-SPEC §7.1, §7.2)."""

from __future__ import annotations

import pytest

from streams.derive.ages import AGE_BAND_COLUMNS, AGE_NOT_KNOWN

from .fixtures import derived_by_key

AGES = [
    # the table of §7.1
    ("2000-02-29", "2001-02-28", 0),
    ("2000-02-29", "2001-03-01", 1),
    ("2001-03-01", "2004-02-29", 2),
    ("1990-06-15", "2024-06-15", 34),
    # more edges
    ("1990-06-15", "2024-06-14", 33),
    ("2000-02-29", "2004-02-29", 4),
    ("2000-02-29", "2004-02-28", 3),
    ("2000-02-28", "2001-02-28", 1),
    ("2024-06-10", "2024-06-10", 0),
    ("2024-06-11", "2024-06-10", -1),  # birth after test: a DIDS006 reject
    ("1900-01-02", "2024-01-01", 123),
]
UNUSABLE = [
    (None, "2024-06-10"),
    ("1980-05-17", None),
    ("1980-02-30", "2024-06-10"),
    ("17/05/1980", "2024-06-10"),
    ("", ""),
]


@pytest.fixture(scope="module")
def age_of() -> dict:
    """AGE_AT_EVENT by (birth, test), every pair of this module derived in one batch."""
    pairs = [(birth, test) for birth, test, _ in AGES] + UNUSABLE
    records = {(b, t): {"person_birth_date": b, "diagnostic_test_date": t} for b, t in pairs}
    return {pair: row["age_at_event"] for pair, row in derived_by_key(records).items()}


@pytest.mark.parametrize(("birth", "test", "age"), AGES)
def test_age_at_event(birth: str, test: str, age: int, age_of: dict) -> None:
    assert age_of[birth, test] == age


@pytest.mark.parametrize(("birth", "test"), UNUSABLE)
def test_age_is_null_when_a_date_is_unusable(birth: str | None, test: str | None, age_of: dict) -> None:
    assert age_of[birth, test] is None


def test_column_names_in_national_order() -> None:
    assert AGE_BAND_COLUMNS == (
        "AGE_BAND_5_YEARS",
        "AGE_BAND_10_YEARS",
        "AGE_BAND_CHILDREN_INC_0_YEARS",
        "AGE_BAND_INC_50_TO_74",
        "AGE_BAND_INC_WORKING_AGE_16_TO_60",
        "AGE_BAND_INC_WORKING_AGE_16_TO_64",
    )


BOUNDARIES = {
    "AGE_BAND_5_YEARS": [
        (0, "0-4"), (4, "0-4"), (5, "5-9"), (9, "5-9"), (10, "10-14"), (14, "10-14"), (15, "15-19"), (84, "80-84"),
        (85, "85-89"), (89, "85-89"), (90, "90 and over"), (120, "90 and over"),
    ],
    "AGE_BAND_10_YEARS": [
        (0, "0-9"), (9, "0-9"), (10, "10-19"), (19, "10-19"), (20, "20-29"), (79, "70-79"), (80, "80-89"),
        (89, "80-89"), (90, "90 and over"),
    ],
    "AGE_BAND_CHILDREN_INC_0_YEARS": [
        (0, "0"), (1, "1-4"), (4, "1-4"), (5, "5-9"), (9, "5-9"), (10, "10-15"), (15, "10-15"), (16, "16 and over"),
    ],
    "AGE_BAND_INC_50_TO_74": [
        (0, "0-18"), (18, "0-18"), (19, "19-49"), (49, "19-49"), (50, "50-74"), (74, "50-74"), (75, "75 and over"),
    ],
    "AGE_BAND_INC_WORKING_AGE_16_TO_60": [(0, "0-15"), (15, "0-15"), (16, "16-60"), (60, "16-60"), (61, "61 and over")],
    "AGE_BAND_INC_WORKING_AGE_16_TO_64": [(0, "0-15"), (15, "0-15"), (16, "16-64"), (64, "16-64"), (65, "65 and over")],
}  # fmt: skip


UNKNOWN_AGES = [None, -1, -40]
TEST_DATE = "2024-06-10"


def _born(age: int | None) -> str | None:
    """A birth date giving ``age`` on TEST_DATE: 1 January of its year (after the test for a negative age)."""
    return None if age is None else f"{2024 - age:04d}-01-01"


@pytest.fixture(scope="module")
def bands_at() -> dict:
    """The derived record of each age (born ``_born(age)``, tested on TEST_DATE), every age here in one batch."""
    ages = [*{age for cases in BOUNDARIES.values() for age, _ in cases} | set(range(0, 95, 5)), *UNKNOWN_AGES]
    return derived_by_key({age: {"person_birth_date": _born(age), "diagnostic_test_date": TEST_DATE} for age in ages})


def test_the_band_records_have_the_ages_asked(bands_at: dict) -> None:
    assert {age: derived["age_at_event"] for age, derived in bands_at.items()} == {age: age for age in bands_at}


@pytest.mark.parametrize(
    ("column", "age", "label"),
    [(column, age, label) for column, cases in BOUNDARIES.items() for age, label in cases],
)
def test_band_boundaries(column: str, age: int, label: str, bands_at: dict) -> None:
    assert bands_at[age][column] == label


def test_every_five_year_band_label(bands_at: dict) -> None:
    labels = [bands_at[age]["AGE_BAND_5_YEARS"] for age in range(0, 95, 5)]
    assert labels == [f"{low}-{low + 4}" for low in range(0, 90, 5)] + ["90 and over"]


@pytest.mark.parametrize("age", UNKNOWN_AGES)
def test_unknown_or_negative_age(age: int | None, bands_at: dict) -> None:
    assert [bands_at[age][column] for column in AGE_BAND_COLUMNS] == [AGE_NOT_KNOWN] * len(AGE_BAND_COLUMNS)
    assert AGE_NOT_KNOWN == "Age not known"
