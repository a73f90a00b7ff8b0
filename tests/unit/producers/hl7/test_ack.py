"""ACK construction: addressing, MSA, ERR, escaping."""

from __future__ import annotations

from datetime import UTC, datetime

import hl7

from producers.hl7.ack import build_ack
from producers.hl7.decode import read_header
from producers.hl7.errors import DecodeError, MappingError

NOW = datetime(2024, 6, 15, 12, 0, tzinfo=UTC)
HEADER = read_header(b"MSH|^~\\&|CRIS|RR8|DIDS|NHS|20240615||ORM^O01^ORM_O01|MSG42|P|2.4")


def parse(ack: bytes) -> hl7.Message:
    return hl7.parse(ack.decode("ascii"))


def test_aa_swaps_sender_and_receiver_and_echoes_the_control_id():
    ack = parse(build_ack(HEADER, "AA", now=NOW))
    msh = ack.segment("MSH")
    assert [str(msh(n)) for n in (3, 4, 5, 6, 7)] == ["DIDS", "NHS", "CRIS", "RR8", "20240615120000+0000"]
    assert str(msh(9)) == "ACK^O01^ACK" and str(msh(11)) == "P" and str(msh(12)) == "2.4"
    assert [str(f) for f in ack.segment("MSA")[1:]] == ["AA", "MSG42"]
    assert len(ack) == 2


def test_ae_carries_reason_in_msa3_and_err():
    error = MappingError("no OBR segment: nothing describes an examination", 101, "OBR")
    ack = parse(build_ack(HEADER, "AE", error))
    assert ack.extract_field("MSA", 1, 1) == "AE"
    assert ack.extract_field("MSA", 1, 3) == "no OBR segment: nothing describes an examination"
    err = ack.segment("ERR")
    assert err.extract_field(1, 2, 1, 1) == "OBR"
    assert err.extract_field(1, 3, 1, 1) == "101" and err.extract_field(1, 3, 1, 2) == "Required field missing"
    assert err.extract_field(1, 4) == "E"
    assert err.extract_field(1, 8) == error.reason


def test_reason_is_escaped_and_msa3_is_capped():
    error = MappingError("a|b^c~d\\e&f " + "x" * 200, 207)
    raw = build_ack(HEADER, "AE", error)
    ack = parse(raw)
    assert ack.extract_field("MSA", 1, 3) == ("a|b^c~d\\e&f " + "x" * 200)[:80]
    assert ack.segment("ERR").extract_field(1, 8).startswith("a|b^c~d\\e&f xxx")


def test_ar_without_any_header():
    ack = parse(build_ack(None, "AR", DecodeError("not an HL7 v2 message")))
    assert ack.extract_field("MSA", 1, 1) == "AR"
    assert ack.extract_field("MSA", 1, 2) == ""
    assert str(ack.segment("MSH")(9)) == "ACK"


def test_sender_separators_are_used():
    header = read_header(b"MSH#*$!%#RIS#RR8#DIDS#NHS#20240615##ORM*O01#C1#P#2.4")
    raw = build_ack(header, "AE", MappingError("bad # value", 103, "ORC-1"))
    assert raw.startswith(b"MSH#*$!%#DIDS#NHS#RIS#RR8#")
    assert b"ACK*O01*ACK" in raw and b"MSA#AE#C1#bad !F! value" in raw


def test_application_ack_has_one_err_per_rule_with_its_fields_and_severity():
    from producers.hl7.ack import RuleFailure, build_application_ack

    failures = [
        RuleFailure("DIDS001", "error", "NHS number not valid | checked", (("PID", 1, 3),)),
        RuleFailure("DIDS062", "warning", "report late", (("OBR", 2, 7), ("OBR", 2, 22))),
    ]
    ack = parse(build_application_ack(HEADER, failures, now=NOW))
    assert [str(f) for f in ack.segment("MSA")[1:3]] == ["AE", "MSG42"]
    assert "DIDS001" in str(ack.segment("MSA")[3]) and "DIDS062" not in str(ack.segment("MSA")[3])
    assert str(ack.segment("MSH")(15)) == "NE" and str(ack.segment("MSH")(16)) == "NE"
    first, second = ack.segments("ERR")
    assert str(first(2)) == "PID^1^3" and str(first(4)) == "E" and first.extract_field(1, 3, 1, 1) == "DIDS001"
    assert first.extract_field(1, 3, 1, 3) == "DIDS" and "\\F\\" in str(first(8))  # the wording is escaped
    assert str(second(2)) == "OBR^2^7~OBR^2^22" and str(second(4)) == "W"
    only_warning = parse(build_application_ack(HEADER, failures[1:], now=NOW))
    assert str(only_warning.segment("MSA")[1]) == "AA" and len(only_warning.segments("ERR")) == 1
