"""LOCATION_LSOA / LOCATION_MSOA from the ONS Postcode Directory as at the test date (DIDS-SPEC §7.4)."""

from __future__ import annotations

from streams.formats import CalendarDate, is_pseudo_postcode
from streams.memo import table_memo
from streams.refdata.protocols import PostcodeGeography

from .asat import as_at


def derive_location(
    postcode: str | None, geography: PostcodeGeography | None, on: CalendarDate | None
) -> tuple[str | None, str | None]:
    """(LSOA, MSOA) of the postcode's directory row in force on the test date.

    Case and spacing do not matter (``ls13ex`` finds ``LS1 3EX``). None for both when the postcode is
    blank, a ``ZZ99`` pseudo-postcode, unknown, has no row on the date, or the directory is missing.
    """
    if postcode is None or geography is None or not postcode.strip() or is_pseudo_postcode(postcode.strip()):
        return None, None
    # a pure function of the read-only directory, the postcode and the date (streams.memo)
    memo = table_memo(geography, "location")
    key = (postcode, on)
    try:
        return memo[key]
    except KeyError:
        row = as_at(geography.areas(postcode), on, lambda area: (area.start, area.end))
        found = memo[key] = (None, None) if row is None else (row.lsoa, row.msoa)
        return found
