"""Picking the row of a dated reference table that applies "as at" the test date (DIDS-SPEC §7).

Every bound is inclusive and None is unbounded. When several rows are in force the one that started
last wins. Without a usable test date (only rejected records lack one) the latest row is used, so a
rejected record is still derived as far as its values allow.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import TypeVar

from streams.formats import CalendarDate
from streams.refdata.protocols import NicipVersion, SnomedVersion
from streams.rules.context import GracePeriod
from streams.rules.imaging_codes import CodeStatus, code_status
from streams.rules.organisations import date_in_range

T = TypeVar("T")
CodeVersion = TypeVar("CodeVersion", NicipVersion, SnomedVersion)
Period = Callable[[T], tuple[date | None, date | None]]


def _start_key(start: date | None) -> int:
    return 0 if start is None else start.toordinal()


def latest(rows: Iterable[T], period: Period[T]) -> T | None:
    """The row that started last (an open start counts as earliest); the last such row on ties."""
    chosen: T | None = None
    for row in rows:
        if chosen is None or _start_key(period(row)[0]) >= _start_key(period(chosen)[0]):
            chosen = row
    return chosen


def as_at(rows: Iterable[T], on: CalendarDate | None, period: Period[T]) -> T | None:
    """The row in force on ``on`` (start <= on <= end); the latest row when ``on`` is None; else None."""
    if on is None:
        return latest(rows, period)
    return latest((row for row in rows if date_in_range(on, *period(row))), period)


def in_force(rows: Iterable[T], on: CalendarDate | None, period: Period[T]) -> list[T]:
    """Every row in force on ``on``; every row when ``on`` is None."""
    return [row for row in rows if on is None or date_in_range(on, *period(row))]


def code_period(version: NicipVersion | SnomedVersion) -> tuple[date | None, date | None]:
    return version.eff_from, version.eff_to


def code_as_at(versions: Sequence[CodeVersion], on: CalendarDate | None, grace: GracePeriod) -> CodeVersion | None:
    """The NICIP/SNOMED version to classify with on ``on``.

    Active on the date: that version. Otherwise, when the date is inside a version's grace window (the
    code passed DIDS057/059 with warning 077/078), its *last active version* (assumption of DIDS-SPEC
    §7.6): the version that ended last before the date, or, when the date precedes every window start,
    the earliest version. Outside every window (a DIDS057/059 reject): None.
    """
    if on is None:
        return latest(versions, code_period)
    active = [v for v in versions if code_status((v,), on, grace) is CodeStatus.ACTIVE]
    if active:
        return latest(active, code_period)
    graced = [v for v in versions if code_status((v,), on, grace) is CodeStatus.GRACE]
    ended = [v for v in graced if v.eff_to is not None and v.eff_to.toordinal() < on.ordinal]
    if ended:
        return max(ended, key=lambda v: v.eff_to.toordinal())
    return min(graced, key=lambda v: _start_key(v.eff_from), default=None)
