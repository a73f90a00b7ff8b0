"""DIDS v2.0 timestamps (DIDS-SPEC §3.1): ISO 8601 local clock time with an offset of +01:00, +00:00,
-00:00 or Z. Shared by the extract reader, the HL7 mapping (OBR-7 becomes one) and the stream processor
(v2.0 code validity is checked at the local date of the CODED PROCEDURE END TIMESTAMP; the local clock
hour of the CODED PROCEDURE START TIMESTAMP is what equipment utilisation counts).

**Local clock, checked against the UK clock.** A DIDS timestamp is the time shown on the clock, BST or
GMT, with the offset saying which. ``clock_hour`` takes the hour as written only when the written offset
is the one UK clocks used at that wall time (``+01:00`` in BST, ``+00:00``/``Z``/``-00:00`` in GMT; on the
October changeover day 01:00-01:59 happens twice, so both offsets are right there). Anything else (GMT
written in summer, a wall time in the hour the clocks skip in March) contradicts itself: the date or the
hour is wrong and we cannot tell which, so the record counts by day only, never guessed into an hour.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from types import MappingProxyType
from zoneinfo import ZoneInfo

UK_CLOCK = ZoneInfo("Europe/London")

_TIMESTAMP = re.compile(r"(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2}):(\d{2})(Z|[+-]\d{2}:\d{2})", re.ASCII)
_OFFSETS = MappingProxyType({"Z": 0, "+00:00": 0, "-00:00": 0, "+01:00": 60})


def parse_timestamp(value: str | None) -> tuple[str, datetime] | None:
    """``(local CCYY-MM-DD, UTC instant)`` of a v2 timestamp; None when blank, malformed or another offset.

    The local date is the date written in the value (BST or GMT clock date), which sets the reporting
    month (SPEC §1.5); the instant is for ordering and intervals. A value whose instant falls outside
    the calendar (``0001-01-01T00:30:00+01:00``) is malformed too, not an error.
    """
    parsed = _parse(value)
    return None if parsed is None else (parsed[0].date().isoformat(), parsed[1])


def local_date(value: str | None) -> str | None:
    """The local CCYY-MM-DD of a v2 timestamp, or None when blank or malformed."""
    parsed = parse_timestamp(value)
    return None if parsed is None else parsed[0]


def clock_hour(value: str | None, test_date: str | None = None) -> int | None:
    """The local clock hour (0-23) of a v2 timestamp, or None (date only).

    None when the value is blank or malformed, when its offset is not the one UK clocks used at that wall
    time (module docstring), or, when ``test_date`` (CCYY-MM-DD) is given, when its local date is another
    day: a time of another day than the record's test date says nothing about that test's hour.
    """
    parsed = _parse(value)
    if parsed is None:
        return None
    wall, instant = parsed
    try:
        shown = instant.astimezone(UK_CLOCK).replace(tzinfo=None)
    except (OverflowError, ValueError):
        return None
    if shown != wall or (test_date is not None and wall.date().isoformat() != test_date):
        return None
    return wall.hour


def uk_timestamp(wall: datetime, offset_minutes: int | None = None) -> str | None:
    """The v2 timestamp (``CCYY-MM-DDThh:mm:ss+01:00``) of a wall-clock time read from a UK RIS, or None.

    ``wall`` is naive. Without ``offset_minutes`` it is UK local time: a wall time the clocks skip (the
    last Sunday of March, 01:00-01:59) gives None; one they show twice (the last Sunday of October,
    01:00-01:59) is taken as the first, in BST (the hour is the same either way). With an offset, the offset
    must be the one UK clocks used at that wall time, else None: the value contradicts itself (module
    docstring) and converting it would move the written date.
    """
    if wall.tzinfo is not None:
        raise ValueError("wall must be a naive local time")
    try:
        if offset_minutes is None:
            offset = wall.replace(tzinfo=UK_CLOCK, fold=0).utcoffset()
        else:
            offset = timedelta(minutes=offset_minutes)
        if offset not in (timedelta(0), timedelta(hours=1)):
            return None
        sign = "+01:00" if offset else "+00:00"
        text = f"{wall.strftime('%Y-%m-%dT%H:%M:%S')}{sign}"
    except (OverflowError, ValueError):
        return None
    return text if clock_hour(text) is not None else None


def _parse(value: str | None) -> tuple[datetime, datetime] | None:
    """(naive wall time as written, UTC instant), or None."""
    if value is None:
        return None
    match = _TIMESTAMP.fullmatch(value.strip())
    if match is None or match[5] not in _OFFSETS:
        return None
    hour, minute, second = int(match[2]), int(match[3]), int(match[4])
    try:
        day = date.fromisoformat(match[1])
        wall = datetime(day.year, day.month, day.day, hour, minute, second)
        offset = timezone(timedelta(minutes=_OFFSETS[match[5]]))
        return wall, wall.replace(tzinfo=offset).astimezone(UTC)
    except (OverflowError, ValueError):
        return None
