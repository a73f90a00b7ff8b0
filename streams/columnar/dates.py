"""Calendar dates as column expressions (DIDS-RULES §1.3), the batch form of ``streams.formats``.

A date item is valid when it is exactly ``CCYY-MM-DD`` in ASCII digits, month 01-12 and day 01 to the
month's length; any 4-digit year, 0000 too. Polars' own date type is not used for parsing: it accepts
forms §1.3 refuses and stops at other years, so the parts are read as integers and the day number is
worked out with the proleptic Gregorian formula (``days_from_civil``), exact for every 4-digit year.
Only differences and comparisons of day numbers are used, so their origin does not matter.
"""

from __future__ import annotations

from functools import lru_cache

import polars as pl

_DATE_SHAPE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


def is_leap(year: pl.Expr) -> pl.Expr:
    return ((year % 4) == 0) & (((year % 100) != 0) | ((year % 400) == 0))


def days_in_month(year: pl.Expr, month: pl.Expr) -> pl.Expr:
    return (
        pl.when(month == 2)
        .then(pl.when(is_leap(year)).then(29).otherwise(28))
        .when(month.is_in([4, 6, 9, 11]))
        .then(30)
        .otherwise(31)
    )


def day_number(year: pl.Expr, month: pl.Expr, day: pl.Expr) -> pl.Expr:
    """Days since 1970-01-01 of a valid (year, month, day), floor division throughout (year 0000 too)."""
    y = year - (month <= 2).cast(pl.Int64)
    era = y // 400
    yoe = y - era * 400
    shifted = pl.when(month > 2).then(month - 3).otherwise(month + 9)
    doy = (153 * shifted + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146_097 + doe - 719_468


def with_dates(frame: pl.DataFrame, items: dict[str, str]) -> pl.DataFrame:
    """``frame`` with the helper columns of each date item (``{item: prefix}``): ``<p>_ok``, ``<p>_y``,
    ``<p>_m``, ``<p>_d``, ``<p>_day`` (day number) and ``<p>_mi`` (month index ``year * 12 + month``);
    all but ``_ok`` null unless the date is valid. Built in stages: an expression that repeats another
    is evaluated again each time, and the day number repeats the parts many times."""
    for stage in _date_stages(tuple(items.items())):
        frame = frame.with_columns(stage)
    return frame


@lru_cache(maxsize=16)  # built once per set of items: building them cost as much as running them on a live batch
def _date_stages(items: tuple[tuple[str, str], ...]) -> tuple[list[pl.Expr], ...]:
    prefixes = [p for _, p in items]
    parts = []
    for item, p in items:
        text = pl.col(item)
        shaped = text.str.contains(_DATE_SHAPE).fill_null(False)
        parts += [
            pl.when(shaped).then(text.str.slice(start, length).cast(pl.Int64, strict=False)).alias(f"{p}_{part}")
            for part, start, length in (("y", 0, 4), ("m", 5, 2), ("d", 8, 2))
        ]
    valid = []
    for p in prefixes:
        year, month, day = pl.col(f"{p}_y"), pl.col(f"{p}_m"), pl.col(f"{p}_d")
        ok = month.is_between(1, 12) & (day >= 1) & (day <= days_in_month(year, month))
        valid.append(ok.fill_null(False).alias(f"{p}_ok"))
    kept = [
        pl.when(pl.col(f"{p}_ok")).then(pl.col(f"{p}_{part}")).alias(f"{p}_{part}") for p in prefixes for part in "ymd"
    ]
    numbers = [
        expr
        for p in prefixes
        for expr in (
            day_number(pl.col(f"{p}_y"), pl.col(f"{p}_m"), pl.col(f"{p}_d")).alias(f"{p}_day"),
            (pl.col(f"{p}_y") * 12 + pl.col(f"{p}_m")).alias(f"{p}_mi"),
        )
    ]
    return parts, valid, kept, numbers


def add_months_day(prefix: str, months: int) -> pl.Expr:
    """Day number of the date shifted by whole calendar months, the day clamped to the month end
    (``CalendarDate.add_months``)."""
    total = pl.col(f"{prefix}_y") * 12 + pl.col(f"{prefix}_m") - 1 + months
    year, month = total // 12, total % 12 + 1
    day = pl.min_horizontal(pl.col(f"{prefix}_d"), days_in_month(year, month))
    return day_number(year, month, day)
