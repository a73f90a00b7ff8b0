"""OBR-7's time -> the v2 CODED PROCEDURE START TIMESTAMP (MAPPING.md, "The test's time"): UK local time,
the BST changeover days, and hostile values, which leave the date and drop only the time."""

from __future__ import annotations

import pytest

from producers.hl7.decode import decode_message
from producers.hl7.mapping import map_message, start_timestamp
from producers.hl7.writer import write_message
from tests.unit.producers.hl7.messages import PID, PV1, RECEIVED, message, msh, segment

START = "coded_procedure_start_timestamp"


@pytest.mark.parametrize(
    ("obr7", "expected"),
    [
        ("202606151430", "2026-06-15T14:30:00+01:00"),  # the usual: no offset, UK local time (BST)
        ("202601151430", "2026-01-15T14:30:00+00:00"),  # GMT
        ("2026061514", "2026-06-15T14:00:00+01:00"),  # to the hour
        ("20260615143059", "2026-06-15T14:30:59+01:00"),
        ("20260615143059.1234", "2026-06-15T14:30:59+01:00"),  # the fraction is dropped
        ("202606151430+0100", "2026-06-15T14:30:00+01:00"),  # an offset the UK clock showed
        ("202601151430+0000", "2026-01-15T14:30:00+00:00"),
        ("202601151430-0000", "2026-01-15T14:30:00+00:00"),
        ("202610250130", "2026-10-25T01:30:00+01:00"),  # shown twice: the first (BST), same hour
        ("202610250130+0000", "2026-10-25T01:30:00+00:00"),  # the second, said by its offset
        ("202603290230", "2026-03-29T02:30:00+01:00"),
        # no time, or none to trust: the date only
        ("20260615", None),
        ("202603290130", None),  # skipped by the clocks on 29 March 2026
        ("202606151430+0000", None),  # GMT in summer (a RIS sending UTC): the written date may be wrong too
        ("202601151430+0100", None),  # BST in winter
        ("202606151430+0530", None),
        ("202606151430+9999", None),
        ("202606151430+0160", None),
        ("202606151430+01", None),  # bad lengths
        ("2026061514305", None),
        ("20260615143", None),
        ("202606151", None),
        ("20260615143059.12345", None),
        ("2026061514AB", None),  # letters
        ("20260615T1430", None),
        ("2026-06-15T14:30", None),
        ("202606152430", None),  # out of range
        ("202606151460", None),
        ("202606151430 60", None),
        ("202602301430", None),
        ("２０２６０６１５１４３０", None),  # other digits
        ("", None),
        ("9" * 5000, None),
    ],
)
def test_obr7_time(obr7, expected):
    assert start_timestamp(obr7) == expected


def _oru(obr7: str, status: str = "F") -> dict[str, object]:
    obr = segment("OBR", {1: "1", 4: "XCHES^^NICIP", 7: obr7, 18: "ACC7", 22: "20260616", 25: status})
    (event,) = map_message(decode_message(message(msh("ORU^R01"), PID, PV1, obr)).message, RECEIVED)
    return event


def test_an_oru_carries_the_tests_time_beside_its_date():
    event = _oru("202606151430")
    assert event["diagnostic_test_date"] == "2026-06-15"
    assert event[START] == "2026-06-15T14:30:00+01:00"


@pytest.mark.parametrize("obr7", ["20260615", "2026061514AB", "202606151430+0500"])
def test_a_time_that_cannot_be_used_leaves_the_date_alone(obr7):
    event = _oru(obr7)
    assert event[START] is None
    assert event["diagnostic_test_date"] == ("2026-06-15" if obr7 != "2026061514AB" else "2026061514AB")


def test_only_examined_events_carry_the_time():
    """A requested or scheduled order's OBR-7 is often the planned time: neither date nor time is kept."""
    orc = segment("ORC", {1: "NW", 3: "ACC7"})
    obr = segment("OBR", {1: "1", 4: "XCHES^^NICIP", 7: "202606151430", 18: "ACC7"})
    (event,) = map_message(decode_message(message(msh(), PID, PV1, orc, obr)).message, RECEIVED)
    assert event["event_type"] == "requested"
    assert event[START] is None and event["diagnostic_test_date"] is None
    assert _oru("202606151430", status="P")[START] == "2026-06-15T14:30:00+01:00"  # performed


def test_the_writer_and_the_mapping_agree_on_the_time(generated_events):
    timed = [e for e in generated_events if e.get(START)]
    assert timed, "the simulator sent no test time"
    kept = 0
    for event in timed:
        if event["event_type"] == "submitted":
            continue
        (back,) = map_message(decode_message(write_message(event).encode()).message, RECEIVED)
        on_its_date = str(event[START])[:10] == event["diagnostic_test_date"]
        assert back[START] == (event[START] if on_its_date else None), event["event_type"]
        kept += back[START] is not None
    assert kept > len(timed) / 2
