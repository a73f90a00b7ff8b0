"""Pure format helpers shared by the rules and the derivations (the NHS number: ``dids.kernel.nhs_number``).

Dates (DIDS-RULES §1.3), calendar-month arithmetic, SNOMED CT id syntax with the
Verhoeff check (§6) and the ZZ99 pseudo-postcode. Every helper takes cleansed text: nothing here trims.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache
from typing import NamedTuple

# ---- dates ----

_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_DAYS_IN_400_YEARS = 146_097


def is_leap_year(year: int) -> bool:
    """Gregorian: every 4th year, except centuries not divisible by 400 (1900, 2100 are not; 2000 is)."""
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def days_in_month(year: int, month: int) -> int:
    """28-31; works for any year, including 0000 (a leap year) which ``calendar`` cannot handle."""
    if month == 2:
        return 29 if is_leap_year(year) else 28
    return 30 if month in (4, 6, 9, 11) else 31


class CalendarDate(NamedTuple):
    """A valid ``CCYY-MM-DD`` date, year 0000 included (Python's ``date`` stops at year 1).

    Tuple order is calendar order, so ``<``/``==`` compare dates. The rules use this type so that every
    date §1.3 calls valid can be compared and shifted without overflow.
    """

    year: int
    month: int
    day: int

    @classmethod
    def from_date(cls, value: date) -> CalendarDate:
        return cls(value.year, value.month, value.day)

    @property
    def ordinal(self) -> int:
        """Proleptic Gregorian day number (``date.toordinal`` for years 1-9999, extended both ways)."""
        year = self.year
        if 1 <= year <= 9999:  # the usual case, asked often: no shift needed
            return date(year, self.month, self.day).toordinal()
        shift = 0
        if year < 1:
            shift = (400 - year) // 400
        elif year > 9999:
            shift = -((year - 9600) // 400)
        return date(year + 400 * shift, self.month, self.day).toordinal() - shift * _DAYS_IN_400_YEARS

    @property
    def month_index(self) -> int:
        return self.year * 12 + self.month

    def add_months(self, months: int) -> CalendarDate:
        """Shift by whole calendar months, keeping the day unless the target month is shorter (clamp)."""
        year, month0 = divmod(self.year * 12 + self.month - 1 + months, 12)
        return CalendarDate(year, month0 + 1, min(self.day, days_in_month(year, month0 + 1)))

    def to_date(self) -> date:
        """The Python date; raises ValueError for year 0000."""
        return date(self.year, self.month, self.day)


@lru_cache(maxsize=8192)  # every date rule parses the same few strings of a record: parse each once
def parse_calendar_date(text: str | None) -> CalendarDate | None:
    """The date when ``text`` is valid under DIDS-RULES §1.3, else None.

    Exactly ``CCYY-MM-DD`` with ASCII digits: no time, no other separator, no 1-digit month or day, no
    surrounding whitespace. Month 01-12, day 01 to the month's length (day ``00`` is a format error,
    a recorded assumption of DIDS-SPEC §4), 29 February only in leap years. Any 4-digit year, 0000 too.
    """
    if text is None:
        return None
    match = _DATE.fullmatch(text)
    if match is None:
        return None
    year, month, day = (int(part) for part in match.groups())
    if not 1 <= month <= 12 or not 1 <= day <= days_in_month(year, month):
        return None
    return CalendarDate(year, month, day)


def is_valid_date(text: str | None) -> bool:
    """True when ``text`` is a valid date under DIDS-RULES §1.3 (blank is not valid)."""
    return parse_calendar_date(text) is not None


def parse_date(text: str | None) -> date | None:
    """``text`` as a ``date`` when it is valid under DIDS-RULES §1.3, else None.

    One unavoidable gap: §1.3 accepts year 0000, which ``datetime.date`` cannot hold, so such a value gives
    None here although ``is_valid_date`` is True. The rules use ``parse_calendar_date`` and so treat
    0000 dates exactly as the national rules do.
    """
    parsed = parse_calendar_date(text)
    if parsed is None or parsed.year == 0:
        return None
    return parsed.to_date()


def add_months(value: date, months: int) -> date:
    """``value`` shifted by whole calendar months, clamped to the month end.

    2024-01-31 + 1 = 2024-02-29; 2023-01-31 + 1 = 2023-02-28; 2024-02-29 + 1 = 2024-03-29 (a month end is
    not carried to the next month end). Raises ValueError when the result leaves years 1-9999.
    """
    return CalendarDate.from_date(value).add_months(months).to_date()


def month_index(value: date | CalendarDate) -> int:
    """``year * 12 + month``: the whole-calendar-month count used by DIDS010/040 and DIDS049/055."""
    return value.year * 12 + value.month


def _is_ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


# ---- SNOMED CT concept id (DIDS-RULES §6) ----

_VERHOEFF_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
    (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
    (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_VERHOEFF_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
    (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
    (9, 4, 5, 3, 1, 2, 6, 8, 7, 0),
    (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5),
    (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)
_VERHOEFF_INV = (0, 4, 3, 2, 1, 5, 6, 7, 8, 9)
_CONCEPT_PARTITIONS = ("00", "10")


def _verhoeff_walk(digits: str, first_position: int) -> int:
    check = 0
    for position, digit in enumerate(reversed(digits), start=first_position):
        check = _VERHOEFF_D[check][_VERHOEFF_P[position % 8][int(digit)]]
    return check


def verhoeff_is_valid(digits: str) -> bool:
    """True when the last digit of ``digits`` (ASCII digits, check digit included) is its Verhoeff check."""
    return _verhoeff_walk(digits, 0) == 0


def verhoeff_check_digit(body: str) -> int:
    """The Verhoeff check digit to append to ``body`` (ASCII digits)."""
    return _VERHOEFF_INV[_verhoeff_walk(body, 1)]


def is_valid_snomed_id(value: str | None) -> bool:
    """Well-formed simple SNOMED CT concept id (DIDS-RULES §6).

    6-18 ASCII digits, Verhoeff check digit correct, partition (the two digits before the check digit)
    ``00`` or ``10``, so description and relationship ids fail. Post-coordinated expressions are not
    accepted: the DIDS item is n6-n18.
    """
    if value is None or not 6 <= len(value) <= 18 or not _is_ascii_digits(value):
        return False
    return value[-3:-1] in _CONCEPT_PARTITIONS and verhoeff_is_valid(value)


# ---- pseudo-postcodes ----


def is_pseudo_postcode(value: str) -> bool:
    """A ``ZZ99`` pseudo-postcode (no fixed abode, overseas, not known), in either case."""
    return value[:4].upper() == "ZZ99"
