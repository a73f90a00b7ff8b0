"""Imaging codes, NICIP and SNOMED CT (DIDS-RULES §2.15, §6, §8.1): DIDS056 057 059 077 078 082.

The rules are expressions (``streams.columnar.checks``); a code's status on a date and DIDS082's map
check, asked once per distinct code and date of a batch, are here.

Codes are trimmed and upper-cased before lookup, and every point-in-time check uses the test date.
Each code has one or more versions ``eff_from..eff_to`` (inclusive; no ``eff_to`` = still active):

* active: ``eff_from <= T <= eff_to``;
* grace window: ``eff_from - grace <= T <= eff_to + grace`` (both ends, ``Context.grace``; v1: 6 months).

Code unknown or T outside every window: DIDS057/059 (reject). Active in some version: pass. Otherwise
(inside a window only): DIDS077/078 (warning). With several versions the most favourable one counts.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from enum import Enum

from streams.formats import CalendarDate
from streams.memo import table_memo
from streams.refdata.protocols import NicipTable, NicipVersion, SnomedTable, SnomedVersion
from streams.rules.context import GracePeriod


class CodeStatus(Enum):
    """Where a test date falls for a code, across all its versions."""

    UNKNOWN = "unknown"  # not in the table
    ACTIVE = "active"
    GRACE = "grace"  # not active, but inside the grace window
    OUTSIDE = "outside"  # outside every grace window


def _bound(value: date, grace: GracePeriod | None, sign: int) -> int:
    """Day number of ``value`` moved outwards by the grace period (not at all when ``grace`` is None)."""
    if grace is None:
        return value.toordinal()
    if grace.unit == "days":
        return value.toordinal() + sign * grace.amount
    return CalendarDate.from_date(value).add_months(sign * grace.amount).ordinal


def covers(version: NicipVersion | SnomedVersion, test: CalendarDate, grace: GracePeriod | None) -> bool:
    day = test.ordinal
    before = None if grace is not None and grace.ends == "after" else grace
    if version.eff_from is not None and day < _bound(version.eff_from, before, -1):
        return False
    return version.eff_to is None or day <= _bound(version.eff_to, grace, +1)


def code_status(versions: Iterable[NicipVersion | SnomedVersion], test: CalendarDate, grace: GracePeriod) -> CodeStatus:
    """Classify a test date against a code's versions (module docstring)."""
    versions = tuple(versions)
    if not versions:
        return CodeStatus.UNKNOWN
    if any(covers(version, test, None) for version in versions):
        return CodeStatus.ACTIVE
    if any(covers(version, test, grace) for version in versions):
        return CodeStatus.GRACE
    return CodeStatus.OUTSIDE


def table_status(table: NicipTable | SnomedTable, code: str, test: CalendarDate, grace: GracePeriod) -> CodeStatus:
    """``code_status`` of the code's versions in ``table``: each rule of 057/059/077/078 asks it, on every record
    with that code and date, of a read-only table, so it is memoised per table (streams.memo)."""
    memo = table_memo(table, "code_status")
    key = (code, test, grace)
    status = memo.get(key)
    if status is None:
        status = memo[key] = code_status(table.versions(code), test, grace)
    return status


def same_concept(left: str, right: str) -> bool:
    """Compare SNOMED CT ids as integers (``0123`` equals ``123``); as text if either is not a number."""
    try:
        return int(left) == int(right)
    except ValueError:
        return left.strip() == right.strip()


def nicip_snomed_mismatch(
    nicip_table: NicipTable, snomed_table: SnomedTable, nicip: str, snomed: str, test: CalendarDate | None
) -> str | None:
    """DIDS082 for present codes on a date: ``differs``, ``unmapped`` (no concept mapped) or None (pass)."""
    if test is None:
        return None
    active_nicip = [v for v in nicip_table.versions(nicip.strip().upper()) if covers(v, test, None)]
    active_snomed = [v for v in snomed_table.versions(snomed.strip()) if covers(v, test, None)]
    if not active_nicip or not active_snomed:
        return None
    mapped = [v.snomed_id for v in active_nicip if v.snomed_id is not None and v.snomed_id.strip()]
    if not mapped:
        return "unmapped"
    if any(same_concept(concept, snomed) for concept in mapped):
        return None
    return "differs"
