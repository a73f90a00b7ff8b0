"""Site code of imaging (DIDS-RULES §2.16, §7.2): DIDS067 068 069 081.

Default codes ``89999`` (non-NHS UK provider), ``89997`` (non-UK provider) and ``R9998`` (not a hospital
site) always pass 068 and 081. Any ODS organisation or site counts (no role check); succession is followed.
"""

from __future__ import annotations

from streams.cleanse import CleansedRecord
from streams.formats import CalendarDate, is_valid_site_code
from streams.memo import table_memo
from streams.refdata.protocols import OdsDirectory
from streams.rules.common import finding, is_blank, usable_date
from streams.rules.context import Context
from streams.rules.organisations import date_in_range, ods_history
from streams.rules.results import Finding

SITE_DEFAULTS = frozenset({"89999", "89997", "R9998"})


def check_site_present(record: CleansedRecord, context: Context) -> Finding | None:
    """DIDS067: site code blank (mandatory item)."""
    if is_blank(record.site_code_imaging):
        return finding("site_code_imaging")
    return None


def check_site_format(record: CleansedRecord, context: Context) -> Finding | None:
    """DIDS069: site code present and not 5-12 ASCII letters and digits."""
    value = record.site_code_imaging
    if is_blank(value) or is_valid_site_code(value):
        return None
    return finding("site_code_imaging")


def check_site_known(record: CleansedRecord, context: Context) -> Finding | None:
    """DIDS068: site code present, well formed (else only DIDS069), not a default, and never in ODS.

    Looked up as submitted, without upper-casing (DIDS-SPEC §4: only the liveness lookups upper-case).
    """
    value = record.site_code_imaging
    if is_blank(value) or not is_valid_site_code(value) or value in SITE_DEFAULTS:
        return None
    if ods_history(context.ods, value):
        return None
    return finding("site_code_imaging")


def check_site_open(record: CleansedRecord, context: Context) -> Finding | None:
    """DIDS081 (warning): site found in ODS but not open on the test date (open <= T <= close).

    No close date means still open. Skip when blank, a default, unknown to ODS (DIDS068) or when the
    test date is blank or invalid. The code is upper-cased for this lookup.
    """
    value, test = record.site_code_imaging, usable_date(record.diagnostic_test_date)
    if is_blank(value) or test is None:
        return None
    code = value.strip().upper()
    if code in SITE_DEFAULTS:
        return None
    if closed_on(context.ods, code, test):
        return finding("site_code_imaging", "diagnostic_test_date")
    return None


def closed_on(directory: OdsDirectory, code: str, test: CalendarDate) -> bool:
    """Known to ODS and neither it nor a successor open on ``test``; memoised per ODS snapshot (streams.memo)."""
    memo = table_memo(directory, "site_closed")
    key = (code, test)
    closed = memo.get(key)
    if closed is None:
        history = ods_history(directory, code)
        closed = bool(history) and not any(date_in_range(test, org.open_date, org.close_date) for org in history)
        memo[key] = closed
    return closed
