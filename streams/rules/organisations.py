"""GP practice and referring organisation against ODS (DIDS-RULES §2.7, §2.10): DIDS018 080 024 079, per key.

The rules are expressions (``streams.columnar.checks``); the ODS questions they ask, once per distinct
code and date of a batch, are here. Codes are trimmed and upper-cased before the lookup, and default
codes always pass. "Succession is
followed": a code counts as the organisation it is and every organisation that succeeded it, so an old
practice code merged into a new one is still known. *Assumption:* the liveness warnings (079, 080) follow
succession too: a role held on the date by the code or any successor counts as live.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from streams.formats import CalendarDate
from streams.memo import table_memo
from streams.refdata.protocols import OdsDirectory, OdsOrganisation

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
