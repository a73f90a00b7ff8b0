"""Small building blocks the rule modules share: blank tests, usable dates, pair comparisons."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from streams.cleanse import CleansedRecord
from streams.formats import CalendarDate, parse_calendar_date
from streams.rules.context import Context
from streams.rules.results import Finding, Unavailable

# The shape of every record rule: the cleansed record and the context in; a finding, None (nothing to
# report) or Unavailable out.
RecordCheck = Callable[[CleansedRecord, Context], Finding | Unavailable | None]


def is_blank(value: str | None) -> bool:
    """Null, or empty after trimming (DIDS-RULES §1.2 item 4); cleansing already turns the latter into None."""
    return value is None or not value.strip()


@lru_cache(maxsize=8192)  # pure, asked ~40 times per record about the same four or five date strings
def usable_date(value: str | None) -> CalendarDate | None:
    """The date when ``value`` is present and valid (§1.3); None when blank or invalid."""
    return None if is_blank(value) else parse_calendar_date(value)


def is_invalid_date(value: str | None) -> bool:
    """Present but not a valid date: the condition of the format rules 005, 026, 036, 045, 061."""
    return not is_blank(value) and usable_date(value) is None


def out_of_order(earlier: str | None, later: str | None) -> bool:
    """Pair rule A <= B broken: both dates usable and A after B. Blank or invalid on either side skips."""
    a, b = usable_date(earlier), usable_date(later)
    return a is not None and b is not None and a > b


# a birth date may fall at most this many calendar months after the request (DIDS010/040: unborn babies)
MAX_MONTHS_BEFORE_BIRTH = 6


def birth_months_after_exceeds(birth_text: str | None, other_text: str | None) -> bool:
    """monthIndex(birth) - monthIndex(other) > 6, days ignored; False when either date is unusable."""
    birth, other = usable_date(birth_text), usable_date(other_text)
    if birth is None or other is None:
        return False
    return birth.month_index - other.month_index > MAX_MONTHS_BEFORE_BIRTH


def finding(*fields: str, derived: tuple[tuple[str, str], ...] = ()) -> Finding:
    """Shorthand for a Finding on the named items."""
    return Finding(tuple(fields), derived)
