"""Organisation fields of the national record from ODS, as at the test date (DIDS-SPEC §2.2.5, §7.4).

Codes are trimmed and upper-cased before an ODS lookup (the national liveness lookups are
case-insensitive) and successions are followed, so a re-coded organisation is described by its
successor. ODS does not date names: an organisation's name is its current ODS name. Every function
returns None where the ODS table is missing or the code is unknown.
"""

from __future__ import annotations

from collections.abc import Iterable

from streams.formats import CalendarDate
from streams.memo import table_memo
from streams.refdata.protocols import OdsDirectory, OdsOrganisation, Relationship, RolePeriod
from streams.rules.organisations import GP_PRACTICE_DEFAULTS, ods_history
from streams.rules.site import SITE_DEFAULTS

from .asat import in_force

SITE_DEFAULT_LABELS: dict[str, str] = {
    "89999": "Non-NHS UK Provider",
    "89997": "Non-UK Provider",
    "R9998": "Not a Hospital Site",
}
# national reference-data labels, truncated as the national table has them
GP_DEFAULT_LABELS: dict[str, str] = {
    "V81997": "Not Registered",
    "V81998": "Not Applicable",
    "V81999": "Not Known",
    "S30063": "Grampian Out Of Hours Service",
    "S30152": "Virtual Practice Only",
    "S99942": "PATIENTS REGISTERED WITH",
    "S99957": "PATIENTS NOT REGISTERED",
    "S99961": "PATIENTS WHERE PRACTICE C",
    "S99976": "BRITISH ARMED FORCES PATIENT",
    "S99995": "PATIENTS REGISTERED WITH",
    "S99999": "Unknown",
}
if set(SITE_DEFAULT_LABELS) != SITE_DEFAULTS or set(GP_DEFAULT_LABELS) != GP_PRACTICE_DEFAULTS:
    raise RuntimeError("default-code labels differ from the rules' default-code sets")

COMMISSIONED_BY = "RE4"  # GP practice -> sub-ICB location (formerly CCG)
OPERATED_BY = "RE6"  # site -> the organisation running it
SUB_ICB_ROLE = "RO98"  # clinical commissioning group / sub-ICB location


def _key(code: str | None) -> str | None:
    """The ODS lookup key: trimmed and upper case; None when blank."""
    if code is None or not code.strip():
        return None
    return code.strip().upper()


def _history(code: str | None, ods: OdsDirectory | None) -> tuple[OdsOrganisation, ...]:
    key = _key(code)
    if key is None or ods is None:
        return ()
    return ods_history(ods, key)


def ods_name(code: str | None, ods: OdsDirectory | None) -> str | None:
    """The ODS name of the code, or of its first successor in ODS; None when unknown."""
    if ods is None:
        return None
    # four names per record from a read-only ODS snapshot: memoised per snapshot (streams.memo)
    memo = table_memo(ods, "ods_name")
    try:
        return memo[code]
    except KeyError:
        name = memo[code] = next((org.name for org in _history(code, ods) if org.name), None)
        return name


def site_description(site_code: str | None, ods: OdsDirectory | None) -> str | None:
    """PROVIDER_SITE_CODE_DESCRIPTION: the default label (``89999``, ``89997``, ``R9998``) or the ODS name."""
    key = _key(site_code)
    if key in SITE_DEFAULT_LABELS:
        return SITE_DEFAULT_LABELS[key]
    return ods_name(key, ods)


def gp_description(practice_code: str | None, ods: OdsDirectory | None) -> str | None:
    """GP_DESCRIPTION: the default practice label (§2.2.5) or the ODS name."""
    key = _key(practice_code)
    if key in GP_DEFAULT_LABELS:
        return GP_DEFAULT_LABELS[key]
    return ods_name(key, ods)


def _judged_on(org: OdsOrganisation, on: CalendarDate | None) -> CalendarDate | None:
    """The date an organisation is judged at for PROVIDER_CODE: its close date when it closed before ``on``
    (a closed organisation counts with the roles it held when it closed)."""
    if on is not None and org.close_date is not None and org.close_date.toordinal() < on.ordinal:
        return CalendarDate.from_date(org.close_date)
    return on


def _roles_held(org: OdsOrganisation, on: CalendarDate | None) -> Iterable[RolePeriod]:
    """Roles in force on ``on``; all of them when ``on`` is None."""
    return in_force(org.roles, on, lambda role: (role.start, role.end))


def _links(org: OdsOrganisation, relationship: str, on: CalendarDate | None) -> list[Relationship]:
    """The relationships of that kind in force on ``on`` (all when None), the latest started first."""
    rows = [link for link in org.relationships if link.relationship == relationship]
    current = in_force(rows, on, lambda link: (link.start, link.end))
    return sorted(current, key=lambda link: 0 if link.start is None else link.start.toordinal(), reverse=True)


def _is_nhs(site: OdsOrganisation, ods: OdsDirectory, on: CalendarDate | None, nhs_roles: frozenset[str]) -> bool:
    """The site, or an organisation operating it (RE6), holds an NHS role (§7.4 step 2), each judged on
    the test date or, when closed by then, on its close date."""
    site_on = _judged_on(site, on)
    if any(role.role in nhs_roles for role in _roles_held(site, site_on)):
        return True
    for link in _links(site, OPERATED_BY, site_on):
        operator = ods.lookup(link.target)
        if operator is not None:
            held = _roles_held(operator, _judged_on(operator, site_on))
            if any(role.role in nhs_roles for role in held):
                return True
    return False


def provider_code(
    site_code: str | None, ods: OdsDirectory | None, on: CalendarDate | None, nhs_roles: frozenset[str]
) -> str | None:
    """PROVIDER_CODE in three steps (DIDS-SPEC §1.3, §7.4).

    1. Site not in ODS (successions followed) -> None; the defaults ``89999``, ``89997``, ``R9998`` are not
       ODS organisations (assumption), so they give None too. No ODS table -> None.
    2. The site or its operating organisation holds an NHS role (``nhs_roles``) on the test date, or held
       one when it closed -> the first 3 characters of the site code.
    3. Otherwise (independent sector, say) -> the whole site code.
    The site code is the upper-cased submitted one when ODS has it, else its successor's (a re-coded site
    belongs to its new organisation). Without a usable test date, roles held at any time count.
    """
    key = _key(site_code)
    if key is None or ods is None or key in SITE_DEFAULTS:
        return None
    # a pure function of the read-only ODS snapshot, the site, the date and the roles (streams.memo)
    memo = table_memo(ods, "provider_code")
    memo_key = (key, on, nhs_roles)
    try:
        return memo[memo_key]
    except KeyError:
        code = memo[memo_key] = _provider_code(key, ods, on, nhs_roles)
        return code


def _provider_code(key: str, ods: OdsDirectory, on: CalendarDate | None, nhs_roles: frozenset[str]) -> str | None:
    history = ods_history(ods, key)
    for site in history:
        if _is_nhs(site, ods, on, nhs_roles):
            return site.code[:3]
    return history[0].code if history else None


def commissioner(
    practice_code: str | None, ods: OdsDirectory | None, on: CalendarDate | None
) -> tuple[str | None, str | None]:
    """CCG_CODE and CCG_NAME: the organisation the practice is commissioned by (RE4) on the test date
    that holds the CCG role (RO98) then; since July 2022 the sub-ICB location, named like
    ``NHS <ICB name> ICB - <code>``. Default practice codes, unknown practices or no such relationship on
    the date give (None, None).
    """
    if ods is None or _key(practice_code) in GP_DEFAULT_LABELS:
        return None, None
    # a pure function of the read-only ODS snapshot, the practice and the date (streams.memo)
    memo = table_memo(ods, "commissioner")
    memo_key = (practice_code, on)
    try:
        return memo[memo_key]
    except KeyError:
        found = memo[memo_key] = _commissioner(practice_code, ods, on)
        return found


def _commissioner(
    practice_code: str | None, ods: OdsDirectory, on: CalendarDate | None
) -> tuple[str | None, str | None]:
    for practice in _history(practice_code, ods):
        for link in _links(practice, COMMISSIONED_BY, on):
            target = ods.lookup(link.target)
            if target is not None and any(role.role == SUB_ICB_ROLE for role in _roles_held(target, on)):
                return target.code, target.name
    return None, None
