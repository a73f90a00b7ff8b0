"""DIDS v2.0 timestamps (DIDS-SPEC §3.1): ISO 8601 local clock time with an offset of +01:00, +00:00,
-00:00 or Z. Shared by the extract reader and the stream processor (v2.0 code validity is checked at
the local date of the CODED PROCEDURE END TIMESTAMP)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from types import MappingProxyType

_TIMESTAMP = re.compile(r"(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2}):(\d{2})(Z|[+-]\d{2}:\d{2})")
_OFFSETS = MappingProxyType({"Z": 0, "+00:00": 0, "-00:00": 0, "+01:00": 60})


def parse_timestamp(value: str | None) -> tuple[str, datetime] | None:
    """``(local CCYY-MM-DD, UTC instant)`` of a v2 timestamp; None when blank, malformed or another offset.

    The local date is the date written in the value (BST or GMT clock date), which sets the reporting
    month (SPEC §1.5); the instant is for ordering and intervals.
    """
    if value is None:
        return None
    match = _TIMESTAMP.fullmatch(value.strip())
    if match is None or match[5] not in _OFFSETS:
        return None
    local_date, hour, minute, second = match[1], int(match[2]), int(match[3]), int(match[4])
    try:
        day = date.fromisoformat(local_date)
        local = datetime(day.year, day.month, day.day, hour, minute, second)
    except ValueError:
        return None
    offset = timezone(timedelta(minutes=_OFFSETS[match[5]]))
    return local_date, local.replace(tzinfo=offset).astimezone(UTC)


def local_date(value: str | None) -> str | None:
    """The local CCYY-MM-DD of a v2 timestamp, or None when blank or malformed."""
    parsed = parse_timestamp(value)
    return None if parsed is None else parsed[0]
