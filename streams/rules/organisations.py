"""GP practice and referring organisation against ODS (DIDS-RULES §2.7, §2.10): DIDS018 080 024 079.

Codes are trimmed and upper-cased before the lookup, and default codes always pass. "Succession is
followed": a code counts as the organisation it is and every organisation that succeeded it, so an old
practice code merged into a new one is still known. *Assumption:* the liveness warnings (079, 080) follow
succession too: a role held on the date by the code or any successor counts as live.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from streams.cleanse import CleansedRecord
from streams.formats import CalendarDate
from streams.memo import table_memo
from streams.refdata.protocols import OdsDirectory, OdsOrganisation
from streams.rules.common import finding, is_blank, usable_date
from streams.rules.context import Context
from streams.rules.results import Finding

GP_PRACTICE_DEFAULTS = frozenset(
    {"V81997", "V81998", "V81999", "S30063", "S30152", "S99942", "S99957", "S99961", "S99976", "S99995", "S99999"}
)
GP_PRACTICE_ROLES = frozenset({"RO76", "RO177"})  # GP practice, prescribing cost centre

REFERRING_ORG_DEFAULTS = frozenset({"X99998", "X99999", "XMD00", "89999", "89997", "X98", "Q99"})
REFERRING_ROLES = frozenset(
    {
        "RO197", "RO107", "RO110", "RO116", "RO119", "RO126", "RO137", "RO141", "RO142", "RO150",
        "RO157", "RO166", "RO172", "RO175", "RO177", "RO179", "RO189", "RO76", "RO65",
    }
)  # fmt: skip


def ods_history(directory: OdsDirectory, code: str) -> tuple[OdsOrganisation, ...]:
    """The organisation with ``code`` and all its successors, transitively (cycles are cut).

    Empty when neither the code nor any successor is in ODS.
    """
    # asked by several rules and derivations of every record; ODS is a read-only snapshot (streams.memo)
    memo = table_memo(directory, "ods_history")
    history = memo.get(code)
    if history is None:
        history = memo[code] = _walk_history(directory, code)
    return history


def _walk_history(directory: OdsDirectory, code: str) -> tuple[OdsOrganisation, ...]:
    found: list[OdsOrganisation] = []
    seen: set[str] = set()
    pending = [code]
    while pending:
        current = pending.pop(0)
        if current in seen:
            continue
        seen.add(current)
        organisation = directory.lookup(current)
        if organisation is not None:
            found.append(organisation)
        pending.extend(directory.successors(current))
    return tuple(found)


def date_in_range(day: CalendarDate, start: date | None, end: date | None) -> bool:
    """start <= day <= end, inclusive; a None bound is open."""
    ordinal = day.ordinal
    return (start is None or start.toordinal() <= ordinal) and (end is None or ordinal <= end.toordinal())


def _held_roles(history: Iterable[OdsOrganisation], roles: frozenset[str], on: CalendarDate | None = None):
    """The role periods from ``roles`` held across ``history``, only those live on ``on`` when given."""
    return [
        period
        for organisation in history
        for period in organisation.roles
        if period.role in roles and (on is None or date_in_range(on, period.start, period.end))
    ]


def holds_role(directory: OdsDirectory, code: str, roles: frozenset[str], on: CalendarDate | None = None) -> bool:
    """Whether ``code`` or a successor held one of ``roles`` (on ``on`` when given); memoised per ODS snapshot."""
    memo = table_memo(directory, "holds_role")
    key = (code, roles, on)  # a frozenset caches its hash, so the role sets cost nothing to key by
    held = memo.get(key)
    if held is None:
        held = memo[key] = bool(_held_roles(ods_history(directory, code), roles, on))
    return held


def _lookup_code(value: str | None, defaults: frozenset[str]) -> str | None:
    """The upper-case code to look up; None when blank or a default code (nothing to check)."""
    if is_blank(value):
        return None
    code = value.strip().upper()
    return None if code in defaults else code


def check_gp_practice_known(record: CleansedRecord, context: Context) -> Finding | None:
    """DIDS018: GP practice present, not a default, and never in ODS as RO76 or RO177 (any time)."""
    code = _lookup_code(record.practice_code, GP_PRACTICE_DEFAULTS)
    if code is None or holds_role(context.ods, code, GP_PRACTICE_ROLES):
        return None
    return finding("practice_code")


def check_gp_practice_live(record: CleansedRecord, context: Context) -> Finding | None:
    """DIDS080 (warning): GP practice has held RO76/RO177 but held neither on the test date.

    Skip when blank, a default, unknown to ODS or never in those roles (DIDS018), or when the test date
    is blank or invalid.
    """
    code = _lookup_code(record.practice_code, GP_PRACTICE_DEFAULTS)
    test = usable_date(record.diagnostic_test_date)
    if code is None or test is None:
        return None
    ods = context.ods
    if not holds_role(ods, code, GP_PRACTICE_ROLES) or holds_role(ods, code, GP_PRACTICE_ROLES, on=test):
        return None
    return finding("practice_code", "diagnostic_test_date")


def check_referring_org_known(record: CleansedRecord, context: Context) -> Finding | None:
    """DIDS024: referring organisation present, not a default, and never in ODS with a referring role."""
    code = _lookup_code(record.referring_org_code, REFERRING_ORG_DEFAULTS)
    if code is None or holds_role(context.ods, code, REFERRING_ROLES):
        return None
    return finding("referring_org_code")


def _referral_check_date(record: CleansedRecord) -> tuple[CalendarDate, str] | None:
    """DIDS079's date: the request date when present, else the test date.

    A request date that is present but invalid does not fall back: the rule is skipped.
    """
    if not is_blank(record.diagnostic_test_request_date):
        request = usable_date(record.diagnostic_test_request_date)
        return None if request is None else (request, "diagnostic_test_request_date")
    test = usable_date(record.diagnostic_test_date)
    return None if test is None else (test, "diagnostic_test_date")


def check_referring_org_live(record: CleansedRecord, context: Context) -> Finding | None:
    """DIDS079 (warning): referring organisation has held a referring role, but none on the check date.

    Check date: request date, or the test date when the request date is blank. Skip when the code is
    blank, a default, unknown or never in a referring role (DIDS024), or the check date is unusable.
    """
    code = _lookup_code(record.referring_org_code, REFERRING_ORG_DEFAULTS)
    checked = _referral_check_date(record)
    if code is None or checked is None:
        return None
    on, date_item = checked
    ods = context.ods
    if not holds_role(ods, code, REFERRING_ROLES) or holds_role(ods, code, REFERRING_ROLES, on=on):
        return None
    return finding("referring_org_code", date_item)
