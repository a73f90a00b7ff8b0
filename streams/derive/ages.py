"""Age at the test (AGE_AT_EVENT, internal) and the six national age bands (DIDS-SPEC §7.1, §7.2)."""

from __future__ import annotations

from functools import lru_cache
from itertools import pairwise

from streams.formats import parse_calendar_date

AGE_NOT_KNOWN = "Age not known"

# each band scheme as the lower bounds of its bands; the last band is "<lower> and over"
BANDS: dict[str, tuple[int, ...]] = {
    "AGE_BAND_5_YEARS": tuple(range(0, 95, 5)),
    "AGE_BAND_10_YEARS": tuple(range(0, 100, 10)),
    "AGE_BAND_CHILDREN_INC_0_YEARS": (0, 1, 5, 10, 16),
    "AGE_BAND_INC_50_TO_74": (0, 19, 50, 75),
    "AGE_BAND_INC_WORKING_AGE_16_TO_60": (0, 16, 61),
    "AGE_BAND_INC_WORKING_AGE_16_TO_64": (0, 16, 65),
}
AGE_BAND_COLUMNS: tuple[str, ...] = tuple(BANDS)


def age_at_event(birth_date: str | None, test_date: str | None) -> int | None:
    """Whole years from birth to test; None when either date is blank or not a valid date.

    A birthday counts on its anniversary. A 29 February birthday counts on 1 March in non-leap years:
    nationally both dates become fractions of a 366-day year on which 28 Feb, 29 Feb and 1 Mar are days
    59, 60 and 61 in every year and the difference is floored, which is the year difference less one
    when the test's (month, day) comes before the birth's. Negative when the birth is after the test
    (a DIDS006 reject); the bands then say ``Age not known``.
    """
    birth, test = parse_calendar_date(birth_date), parse_calendar_date(test_date)
    if birth is None or test is None:
        return None
    before_birthday = (test.month, test.day) < (birth.month, birth.day)
    return test.year - birth.year - (1 if before_birthday else 0)


def age_band(age: int | None, lowers: tuple[int, ...]) -> str:
    """The label of the band holding ``age``: ``lo-hi``, ``lo`` for a one-year band, ``lo and over``."""
    if age is None or age < 0:
        return AGE_NOT_KNOWN
    for low, next_low in pairwise(lowers):
        if age < next_low:
            high = next_low - 1
            return str(low) if high == low else f"{low}-{high}"
    return f"{lowers[-1]} and over"


def derive_age_bands(age: int | None) -> dict[str, str]:
    """The six age-band columns, with their exact labels (``Age not known`` for NULL or negative ages).

    5 years ``0-4`` … ``85-89``, ``90 and over``; 10 years ``0-9`` … ``80-89``, ``90 and over``;
    children ``0``, ``1-4``, ``5-9``, ``10-15``, ``16 and over``; ``0-18``, ``19-49``, ``50-74``,
    ``75 and over``; ``0-15``, ``16-60``, ``61 and over``; ``0-15``, ``16-64``, ``65 and over``.
    """
    return dict(_age_bands(age))


@lru_cache(maxsize=512)  # pure, and ages are few: label each age once (a tuple, so the cache cannot be changed)
def _age_bands(age: int | None) -> tuple[tuple[str, str], ...]:
    return tuple((column, age_band(age, lowers)) for column, lowers in BANDS.items())
