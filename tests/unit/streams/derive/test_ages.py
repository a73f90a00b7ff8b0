"""AGE_AT_EVENT (the 29 February rule) and the six age bands at every boundary (DIDS-SPEC §7.1, §7.2)."""

from __future__ import annotations

import pytest

from streams.derive.ages import AGE_BAND_COLUMNS, AGE_NOT_KNOWN, age_at_event, derive_age_bands


@pytest.mark.parametrize(
    ("birth", "test", "age"),
    [
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
    ],
)
def test_age_at_event(birth: str, test: str, age: int) -> None:
    assert age_at_event(birth, test) == age


@pytest.mark.parametrize(
    ("birth", "test"),
    [(None, "2024-06-10"), ("1980-05-17", None), ("1980-02-30", "2024-06-10"), ("17/05/1980", "2024-06-10"), ("", "")],
)
def test_age_is_null_when_a_date_is_unusable(birth: str | None, test: str | None) -> None:
    assert age_at_event(birth, test) is None


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


@pytest.mark.parametrize(
    ("column", "age", "label"),
    [(column, age, label) for column, cases in BOUNDARIES.items() for age, label in cases],
)
def test_band_boundaries(column: str, age: int, label: str) -> None:
    assert derive_age_bands(age)[column] == label


def test_every_five_year_band_label() -> None:
    labels = [derive_age_bands(age)["AGE_BAND_5_YEARS"] for age in range(0, 95, 5)]
    assert labels == [f"{low}-{low + 4}" for low in range(0, 90, 5)] + ["90 and over"]


@pytest.mark.parametrize("age", [None, -1, -40])
def test_unknown_or_negative_age(age: int | None) -> None:
    assert derive_age_bands(age) == dict.fromkeys(AGE_BAND_COLUMNS, AGE_NOT_KNOWN)
    assert AGE_NOT_KNOWN == "Age not known"
