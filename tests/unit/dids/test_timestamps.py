"""v2 timestamps on the UK clock (dids.kernel.timestamps): the hour a test counts in, the BST changeover
days, and hostile values (no services)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dids.kernel.timestamps import clock_hour, local_date, parse_timestamp, uk_timestamp

UK = ZoneInfo("Europe/London")


@pytest.mark.parametrize(
    ("value", "hour"),
    [
        ("2026-06-15T14:30:00+01:00", 14),  # summer: BST
        ("2026-01-15T09:05:00+00:00", 9),  # winter: GMT
        ("2026-01-15T09:05:00Z", 9),
        ("2026-01-15T09:05:00-00:00", 9),
        ("2026-05-01T00:30:00+01:00", 0),  # just after midnight BST on the 1st: the hour (and date) as written
        ("2026-04-30T23:59:59+01:00", 23),
        # spring forward, Sunday 29 March 2026: 01:00 GMT becomes 02:00 BST
        ("2026-03-29T00:59:59+00:00", 0),
        ("2026-03-29T02:00:00+01:00", 2),
        ("2026-03-29T03:15:00+01:00", 3),
        ("2026-03-29T01:30:00+00:00", None),  # a wall time the clocks skip
        ("2026-03-29T01:30:00+01:00", None),
        ("2026-03-29T00:30:00+01:00", None),  # BST written before the change
        # fall back, Sunday 25 October 2026: 02:00 BST becomes 01:00 GMT, so 01:00-01:59 happens twice
        ("2026-10-25T00:30:00+01:00", 0),
        ("2026-10-25T01:30:00+01:00", 1),
        ("2026-10-25T01:30:00+00:00", 1),
        ("2026-10-25T02:30:00+00:00", 2),
        ("2026-10-25T02:30:00+01:00", None),  # BST written after the change
        # 2027's changeover days (28 March, 31 October)
        ("2027-03-28T01:30:00+00:00", None),
        ("2027-10-31T01:15:00+00:00", 1),
        # an offset UK clocks did not show then: the date or the hour is wrong, so the day only
        ("2026-07-01T14:00:00Z", None),
        ("2026-07-01T14:00:00+00:00", None),
        ("2026-12-01T14:00:00+01:00", None),
    ],
)
def test_the_hour_is_the_uk_clocks(value, hour):
    assert clock_hour(value) == hour


def test_a_time_on_another_day_than_the_test_says_nothing_about_its_hour():
    assert clock_hour("2026-06-15T14:30:00+01:00", "2026-06-15") == 14
    assert clock_hour("2026-06-15T14:30:00+01:00", "2026-06-16") is None
    assert clock_hour("2026-06-15T14:30:00+01:00", None) == 14


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "   ",
        "2026-06-15",  # a date only
        "2026-06-15T14:30",  # no seconds
        "2026-06-15T14:30:00",  # no offset
        "2026-06-15 14:30:00+01:00",
        "2026-06-15T14:30:00+0100",
        "2026-06-15T14:30:00+02:00",  # offsets DIDS does not accept
        "2026-06-15T14:30:00+01:30",
        "2026-06-15T14:30:00-01:00",
        "2026-06-15T24:00:00+01:00",
        "2026-06-15T23:60:00+01:00",
        "2026-06-15T23:59:60+01:00",
        "2026-02-30T10:00:00+00:00",
        "2026-13-01T10:00:00+00:00",
        "2026-06-15T1a:30:00+01:00",
        "2026-06-15T14:30:00.5+01:00",
        "２０２６-06-15T14:30:00+01:00",  # other digits
        "2026-06-15T14:30:00+01:00x",
        "0001-01-01T00:30:00+01:00",  # before the calendar once made UTC
        "x" * 10_000,
    ],
)
def test_malformed_values_are_a_date_only_never_an_error(value):
    assert clock_hour(value) is None
    assert parse_timestamp(value) is None


def test_a_value_outside_the_calendar_is_malformed_not_a_crash():
    # the extract reader and the stream worker's v2 code date both read these: an OverflowError there
    # stopped the reader (and would stop the worker at every restart)
    assert parse_timestamp("0001-01-01T00:30:00+01:00") is None
    assert local_date("0001-01-01T00:30:00+01:00") is None
    assert local_date("9999-12-31T23:30:00+00:00") == "9999-12-31"
    # a valid instant the UK time-zone table cannot place: a date, but no hour
    assert local_date("0001-01-01T00:00:00+00:00") == "0001-01-01"
    assert clock_hour("0001-01-01T00:00:00+00:00") is None


@pytest.mark.parametrize(
    ("wall", "offset", "expected"),
    [
        (datetime(2026, 6, 15, 14, 30), None, "2026-06-15T14:30:00+01:00"),
        (datetime(2026, 1, 15, 9, 5, 7), None, "2026-01-15T09:05:07+00:00"),
        (datetime(2026, 3, 29, 1, 30), None, None),  # skipped by the clocks
        (datetime(2026, 10, 25, 1, 30), None, "2026-10-25T01:30:00+01:00"),  # twice: the first, BST
        (datetime(2026, 10, 25, 1, 30), 0, "2026-10-25T01:30:00+00:00"),  # the second, said by its offset
        (datetime(2026, 6, 15, 14, 30), 60, "2026-06-15T14:30:00+01:00"),
        (datetime(2026, 6, 15, 14, 30), 0, None),  # GMT in summer
        (datetime(2026, 1, 15, 14, 30), 60, None),  # BST in winter
        (datetime(2026, 6, 15, 14, 30), 120, None),
        (datetime(2026, 6, 15, 14, 30), -60, None),
        (datetime(1, 1, 1, 0, 30), None, None),
    ],
)
def test_uk_timestamp_writes_the_uk_clock(wall, offset, expected):
    assert uk_timestamp(wall, offset) == expected


def test_uk_timestamp_wants_a_wall_time():
    with pytest.raises(ValueError, match="naive"):
        uk_timestamp(datetime(2026, 6, 15, 14, 30, tzinfo=UTC))


@given(st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2060, 12, 31)))
def test_any_instant_on_the_uk_clock_keeps_its_hour_and_date(moment):
    """An instant written as the UK clock showed it (what a RIS sends) counts at that clock's hour,
    on that clock's date and weekday, whatever the season."""
    local = moment.replace(tzinfo=UTC).astimezone(UK)
    text = local.strftime("%Y-%m-%dT%H:%M:%S") + ("+01:00" if local.utcoffset() == timedelta(hours=1) else "+00:00")
    assert clock_hour(text, local.date().isoformat()) == local.hour
    assert date.fromisoformat(local_date(text)).isoweekday() == local.isoweekday()
    assert parse_timestamp(text)[1] == moment.replace(tzinfo=UTC, microsecond=0)
