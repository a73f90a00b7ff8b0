"""MSH-15/16: which acknowledgements a message asks for (HL7 table 0155)."""

from __future__ import annotations

import pytest

from producers.hl7.decode import read_header
from producers.hl7.modes import ORIGINAL, AckModeError, AckModes, ack_modes


def header(accept: str, application: str):
    return read_header(f"MSH|^~\\&|RIS|RR8|DIDS|NHS|20240615||ORU^R01|M1|P|2.5|||{accept}|{application}".encode())


@pytest.mark.parametrize(
    ("accept", "application", "expected"),
    [
        ("", "", ORIGINAL),
        ('""', '""', ORIGINAL),
        ("AL", "AL", AckModes("AL", "AL")),
        ("AL", "", AckModes("AL", "NE")),
        ("", "ER", AckModes("NE", "ER")),
        ("SU", "NE", AckModes("SU", "NE")),
    ],
)
def test_modes_are_read_and_an_empty_one_is_never(accept, application, expected):
    assert ack_modes(header(accept, application)) == expected


@pytest.mark.parametrize(
    ("accept", "application", "field"),
    [("XX", "AL", "MSH-15"), ("al", "AL", "MSH-15"), ("AL", "AL^ER", "MSH-16"), ("AL", " AL", "MSH-16")],
)
def test_any_other_value_is_refused_naming_the_field_not_echoing_it(accept, application, field):
    with pytest.raises(AckModeError) as caught:
        ack_modes(header(accept, application))
    assert caught.value.location == field and caught.value.code == 103
    assert "^" not in caught.value.reason


def test_when_each_acknowledgement_is_sent():
    always, never = AckModes("AL", "AL"), AckModes("NE", "NE")
    errors, successes = AckModes("ER", "ER"), AckModes("SU", "SU")
    for ok in (True, False):
        assert always.sends_commit(ok) and always.sends_application(ok)
        assert not never.sends_commit(ok) and not never.sends_application(ok)
        assert errors.sends_application(ok) is not ok and successes.sends_application(ok) is ok
    assert not never.wants_verdict and always.wants_verdict and not ORIGINAL.wants_verdict
