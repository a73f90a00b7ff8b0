"""The first derivations: month/year of test and the provider code. Pure functions.

PROVIDER_CODE nationally needs ODS (DIDS-SPEC §7.4); until reference data is loaded, the NHS
convention is used: the first 3 characters of the site code, NULL for the non-ODS defaults.
"""

from __future__ import annotations

import re
from datetime import date

DEFAULT_SITE_CODES = frozenset({"89999", "89997", "R9998"})
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def month_and_year_of_test(test_date: str | None) -> tuple[int | None, int | None]:
    """MONTH_OF_TEST and YEAR_OF_TEST of a CCYY-MM-DD date; (None, None) when blank or invalid."""
    if not test_date or not _DATE.match(test_date):
        return None, None
    try:
        d = date.fromisoformat(test_date)
    except ValueError:
        return None, None
    return d.month, d.year


def provider_code_from_site(site_code: str | None) -> str | None:
    if not site_code or site_code.upper() in DEFAULT_SITE_CODES or len(site_code) < 5:
        return None
    return site_code[:3].upper()
