"""Restricted (fertility-related) procedure codes (DIDS-SPEC §7.8).

Records with these codes lose their patient link downstream: NHS number blanked, Person_ID replaced by a
placeholder. This module only says whether a record is restricted; the privacy stage acts on it.
"""

from __future__ import annotations

from streams.formats import CalendarDate
from streams.memo import table_memo
from streams.refdata.protocols import RestrictedCodeList

from .asat import in_force

# the spec's list, used when no restricted-codes table is loaded: a privacy safeguard must not switch off
# because a file is missing
RESTRICTED_NICIP = frozenset({"FHYSG", "UFOTA", "UHYCO", "UHYSTC"})
RESTRICTED_SNOMED = frozenset({"168884001", "241489004", "252939009", "432787004"})


def _listed(scheme: str, code: str | None, table: RestrictedCodeList | None, on: CalendarDate | None) -> bool:
    if code is None or not code.strip():
        return False
    key = code.strip().upper()
    if table is None:
        return key in (RESTRICTED_NICIP if scheme == "NICIP" else RESTRICTED_SNOMED)
    # three lookups per record in a read-only list: memoised per list (streams.memo)
    memo = table_memo(table, "restricted")
    memo_key = (scheme, key, on)
    listed = memo.get(memo_key)
    if listed is None:
        listed = memo[memo_key] = bool(in_force(table.versions(scheme, key), on, lambda row: (row.start, row.end)))
    return listed


def is_restricted(
    nicip_code: str | None,
    snomed_code: str | None,
    derived_snomed: str | None,
    table: RestrictedCodeList | None,
    on: CalendarDate | None,
) -> bool:
    """True when the submitted NICIP, the submitted SNOMED CT or the derived SNOMED CT concept is listed.

    With a table, an entry must be in force on the test date (any entry when the date is unusable);
    without one, the built-in list of the spec applies.
    """
    return (
        _listed("NICIP", nicip_code, table, on)
        or _listed("SNOMED", snomed_code, table, on)
        or _listed("SNOMED", derived_snomed, table, on)
    )
