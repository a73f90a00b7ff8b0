"""When imaging work happens: the week, the day and the year of a radiology department (assumptions).

A&E and inpatient work (settings 01, 02, 05) runs every day; planned work (outpatients, GP direct
access, other providers, other: 03, 04, 06, 07) is mostly booked on weekdays. So a weekend day sees the
acute work plus a small share of the planned work, and the week's rhythm follows from the modality mix
of ``catalogue``. Within a day, requests follow office hours with a lunch dip. Over the year, December is
the quietest month and May and October the busiest (DIDS-SPEC §8.7). All times are UTC within
07:00-21:00 (see ``builder``); dates are proleptic Gregorian ordinals.
"""

from __future__ import annotations

from bisect import bisect
from datetime import date
from functools import cache

from producers import catalogue as cat

PLANNED_ON_WEEKENDS = 0.15  # planned requests on a Saturday or Sunday, relative to a weekday
WEEKEND_LIST_SHARE = 0.15  # planned tests due on a weekend kept there (weekend lists); the rest move to a weekday
MAX_WEEKEND_MOVE = 6  # a Saturday's test moved to the Friday after
OPEN_FROM_HOUR = 7
# relative requests in each hour from 07:00 (14 hours, to 21:00)
HOURLY_WEIGHTS: tuple[float, ...] = (3, 8, 10, 10, 9, 7, 8, 9, 8, 6, 4, 3, 3, 2)
# relative activity by calendar month, January first (SPEC §8.7: December quietest, May and October busiest)
MONTH_FACTORS: tuple[float, ...] = (1.0, 0.99, 1.03, 0.97, 1.06, 1.02, 1.01, 0.97, 1.01, 1.07, 1.02, 0.84)

_CUM_HOURS: tuple[float, ...] = tuple(sum(HOURLY_WEIGHTS[: i + 1]) / sum(HOURLY_WEIGHTS) for i in range(14))


def acute_share() -> float:
    """Share of all requests from settings 01, 02 and 05 on a weekday, over the modality mix."""
    total = sum(m.share for m in cat.MODALITIES)
    acute = 0.0
    for m in cat.MODALITIES:
        weights = dict(m.settings)
        acute += m.share * sum(w for s, w in weights.items() if s in cat.ACUTE_SETTINGS) / sum(weights.values())
    return acute / total


def _weekday_factors() -> tuple[float, ...]:
    """Mon..Sun request volume relative to the week's mean: weekends keep the acute work."""
    acute = acute_share()
    weekend = acute + (1 - acute) * PLANNED_ON_WEEKENDS
    raw = (1.0,) * 5 + (weekend,) * 2
    mean = sum(raw) / 7
    return tuple(f / mean for f in raw)


WEEKDAY_FACTORS: tuple[float, ...] = _weekday_factors()


def weekday(day: int) -> int:
    """0 = Monday .. 6 = Sunday (ordinal 1, 0001-01-01, was a Monday)."""
    return (day - 1) % 7


def is_weekend(day: int) -> bool:
    return weekday(day) >= 5


@cache
def day_factor(day: int) -> float:
    """Expected requests on ``day`` relative to the mean day: week rhythm times season."""
    return WEEKDAY_FACTORS[weekday(day)] * MONTH_FACTORS[date.fromordinal(day).month - 1]


def second_of_day(fraction: float) -> float:
    """Seconds after midnight at which ``fraction`` (0..1) of the day's requests have arrived."""
    hour = min(bisect(_CUM_HOURS, fraction), len(HOURLY_WEIGHTS) - 1)
    low = _CUM_HOURS[hour - 1] if hour else 0.0
    within = (fraction - low) / (_CUM_HOURS[hour] - low)
    return (OPEN_FROM_HOUR + hour + min(max(within, 0.0), 1.0)) * 3600


def fraction_of_day(second: float) -> float:
    """The inverse of ``second_of_day``: share of the day's requests arrived by ``second``."""
    hours = min(max(second / 3600 - OPEN_FROM_HOUR, 0.0), float(len(HOURLY_WEIGHTS)))
    whole = int(hours)
    if whole >= len(HOURLY_WEIGHTS):
        return 1.0
    low = _CUM_HOURS[whole - 1] if whole else 0.0
    return low + (hours - whole) * (_CUM_HOURS[whole] - low)


def weekend_move(day: int, u: float) -> int:
    """Days from a Saturday or Sunday to a weekday of the next week, at quantile ``u`` (0..1) of
    Monday..Friday, so no weekday gets the weekend's work; 0 on weekdays."""
    wd = weekday(day)
    return 7 - wd + int(u * 5) if wd >= 5 else 0
