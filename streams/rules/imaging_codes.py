"""Imaging codes, NICIP and SNOMED CT (DIDS-RULES §2.15, §6, §8.1): DIDS056 057 059 077 078 082.

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

from streams.cleanse import CleansedRecord
from streams.formats import CalendarDate, is_valid_snomed_id
from streams.memo import table_memo
from streams.refdata.protocols import NicipTable, NicipVersion, SnomedTable, SnomedVersion
from streams.rules.common import finding, is_blank, usable_date
from streams.rules.context import Context, GracePeriod
from streams.rules.results import Finding, Unavailable


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


def _code_date(record: CleansedRecord, context: Context) -> str | None:
    """The point in time for code validity: the test date (v1) or the context's code date (v2.0)."""
    return context.code_date if context.code_date is not None else record.diagnostic_test_date


def _nicip_status(record: CleansedRecord, context: Context) -> CodeStatus | None:
    """The NICIP code's status on the test date; None when the code is blank or T is unusable."""
    code, test = record.imaging_code_nicip, usable_date(_code_date(record, context))
    if is_blank(code) or test is None:
        return None
    return table_status(context.nicip, code.strip().upper(), test, context.grace)


def _snomed_status(record: CleansedRecord, context: Context) -> CodeStatus | None:
    """The SNOMED CT code's status; None when blank, malformed (DIDS059 syntax) or T is unusable."""
    code, test = record.imaging_code_snomed, usable_date(_code_date(record, context))
    if is_blank(code) or test is None or not is_valid_snomed_id(code.strip()):
        return None
    return table_status(context.snomed, code.strip(), test, context.grace)


def table_status(table: NicipTable | SnomedTable, code: str, test: CalendarDate, grace: GracePeriod) -> CodeStatus:
    """``code_status`` of the code's versions in ``table``: each rule of 057/059/077/078 asks it, on every record
    with that code and date, of a read-only table, so it is memoised per table (streams.memo)."""
    memo = table_memo(table, "code_status")
    key = (code, test, grace)
    status = memo.get(key)
    if status is None:
        status = memo[key] = code_status(table.versions(code), test, grace)
    return status


def _status_finding(status: CodeStatus | None, item: str) -> Finding | None:
    if status is CodeStatus.UNKNOWN:
        return finding(item)
    if status is CodeStatus.OUTSIDE:
        return finding(item, "diagnostic_test_date")
    return None


def check_some_imaging_code(record: CleansedRecord, context: Context) -> Finding | None:
    """DIDS056: NICIP and SNOMED CT codes both blank (at least one is needed)."""
    if is_blank(record.imaging_code_nicip) and is_blank(record.imaging_code_snomed):
        return finding("imaging_code_nicip", "imaging_code_snomed")
    return None


def check_nicip_code(record: CleansedRecord, context: Context) -> Finding | None:
    """DIDS057: NICIP present, test date valid, and the code unknown or T outside its grace window.

    Skip when the test date is blank or invalid (DIDS050/045 report that).
    """
    return _status_finding(_nicip_status(record, context), "imaging_code_nicip")


def check_snomed_syntax(record: CleansedRecord, context: Context) -> Finding | None:
    """The DIDS059 syntax part: SNOMED CT present and not a well-formed concept id (§6).

    Runs without the SNOMED table and whatever the test date (recommended assumption): a malformed id
    can never be in the table, so the lookup would fail it anyway.
    """
    code = record.imaging_code_snomed
    if is_blank(code) or is_valid_snomed_id(code.strip()):
        return None
    return finding("imaging_code_snomed")


def check_snomed_code(record: CleansedRecord, context: Context) -> Finding | None:
    """DIDS059: SNOMED CT present and malformed, or (test date valid) unknown or outside its grace window."""
    syntax = check_snomed_syntax(record, context)
    if syntax is not None:
        return syntax
    return _status_finding(_snomed_status(record, context), "imaging_code_snomed")


def check_nicip_code_active(record: CleansedRecord, context: Context) -> Finding | None:
    """DIDS077 (warning): NICIP code found, not active on the test date, but inside the grace window."""
    if _nicip_status(record, context) is CodeStatus.GRACE:
        return finding("imaging_code_nicip", "diagnostic_test_date")
    return None


def check_snomed_code_active(record: CleansedRecord, context: Context) -> Finding | None:
    """DIDS078 (warning): SNOMED CT code found, not active on the test date, but inside the grace window."""
    if _snomed_status(record, context) is CodeStatus.GRACE:
        return finding("imaging_code_snomed", "diagnostic_test_date")
    return None


def same_concept(left: str, right: str) -> bool:
    """Compare SNOMED CT ids as integers (``0123`` equals ``123``); as text if either is not a number."""
    try:
        return int(left) == int(right)
    except ValueError:
        return left.strip() == right.strip()


def check_nicip_maps_to_snomed(record: CleansedRecord, context: Context) -> Finding | Unavailable | None:
    """DIDS082: both codes present and strictly active on the test date (no grace), and the SNOMED CT
    concept the NICIP code maps to differs from the submitted one.

    Skip when either code is blank, not strictly active or unknown (057/059/077/078 cover those), or the
    test date is unusable (the reference fails a null test date, but DIDS050 rejects it anyway). An active
    NICIP version without a mapped concept makes the rule not checked, never passed.
    """
    nicip, snomed = record.imaging_code_nicip, record.imaging_code_snomed
    test = usable_date(_code_date(record, context))
    if is_blank(nicip) or is_blank(snomed) or test is None:
        return None
    answer = nicip_snomed_mismatch(context.nicip, context.snomed, nicip, snomed, test)
    if answer == "unmapped":
        return Unavailable("missing NICIP->SNOMED map entry")
    return finding("imaging_code_nicip", "imaging_code_snomed") if answer == "differs" else None


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
