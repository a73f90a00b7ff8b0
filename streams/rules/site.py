"""Site code of imaging (DIDS-RULES §2.16, §7.2): DIDS067 068 069 081; here the ODS question of DIDS081.

Default codes ``89999`` (non-NHS UK provider), ``89997`` (non-UK provider) and ``R9998`` (not a hospital
site) always pass 068 and 081. Any ODS organisation or site counts (no role check); succession is followed.
"""

from __future__ import annotations

from streams.formats import CalendarDate
from streams.memo import table_memo
from streams.refdata.protocols import OdsDirectory
from streams.rules.organisations import date_in_range, ods_history

SITE_DEFAULTS = frozenset({"89999", "89997", "R9998"})


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
