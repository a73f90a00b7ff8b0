"""The hashed lists' rows (consent, opt-out): only keyed hashes are stored, a tombstone takes the person off."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from sinks.routes import BadRowError, consent_record, optout_record

PERSON = "a" * 64
NOW = datetime(2026, 11, 3, tzinfo=timezone.utc)


def change(person_id=PERSON, status="opted_out"):
    return {"person_id": person_id, "status": status, "created_date": "2026-11-03", "processed_time": NOW}


def test_an_opt_out_change_becomes_a_row():
    assert optout_record(PERSON.encode(), change(), 0)["status"] == "opted_out"
    assert optout_record(PERSON.encode(), change(status="removed"), 0)["status"] == "removed"


def test_a_tombstone_takes_the_person_off_the_list():
    assert optout_record(PERSON.encode(), None, 1_700_000_000_000)["status"] == "removed"
    assert consent_record(PERSON.encode(), None, 1_700_000_000_000)["status"] == "reinstated"


@pytest.mark.parametrize(
    ("key", "record", "reason"),
    [
        (b"9434765919", change("9434765919"), "not the same keyed hash"),  # an NHS number in clear
        (b"b" * 64, change(), "not the same keyed hash"),  # key and value disagree
        (PERSON.encode(), change(status="withdrawn"), "neither opted_out nor removed"),  # a consent status
    ],
)
def test_anything_but_a_keyed_hash_and_a_known_status_is_refused(key, record, reason):
    with pytest.raises(BadRowError, match=reason) as caught:
        optout_record(key, record, 0)
    assert "9434765919" not in str(caught.value)
