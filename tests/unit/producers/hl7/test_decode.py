"""Bytes -> HL7 message: what is rejected (AR) and how character sets are chosen."""

from __future__ import annotations

import pytest

from producers.hl7.decode import decode_message, read_header
from producers.hl7.errors import DecodeError
from tests.unit.producers.hl7.messages import message, msh, segment

PID_LATIN = segment("PID", {3: "9434765919^^^NHS^NH", 5: "CAF\u00c9^ZO\u00cb"})


def test_declared_utf8():
    decoded = decode_message(message(msh(m18="UNICODE UTF-8"), PID_LATIN))
    assert decoded.charset == "utf-8"
    assert decoded.message.segment("PID").extract_field(1, 5, 1, 1) == "CAF\u00c9"


def test_invalid_utf8_when_utf8_is_declared_is_rejected_with_the_header():
    raw = (msh(m18="UNICODE UTF-8") + "\r" + PID_LATIN).encode("latin-1")
    with pytest.raises(DecodeError, match="invalid UTF-8 at byte") as caught:
        decode_message(raw)
    assert caught.value.header.control_id == "MSG0001"
    assert "CAF" not in caught.value.reason


def test_undeclared_latin1_falls_back_to_cp1252():
    raw = (msh() + "\r" + PID_LATIN + "\u20ac").encode("cp1252")  # the euro sign is 0x80 in cp1252
    decoded = decode_message(raw)
    assert decoded.charset == "cp1252"
    assert decoded.message.segment("PID").extract_field(1, 5, 1, 2) == "ZO\u00cb\u20ac"


def test_undeclared_bytes_not_in_cp1252_fall_back_to_latin1():
    raw = (msh() + "\r" + PID_LATIN).encode("latin-1") + b"\x81"
    assert decode_message(raw).charset == "latin-1"


def test_declared_iso_8859_1():
    raw = (msh(m18="8859/1") + "\r" + PID_LATIN).encode("latin-1")
    decoded = decode_message(raw)
    assert decoded.charset == "iso8859_1"
    assert "CAF\u00c9" in str(decoded.message)


def test_unsupported_charset():
    with pytest.raises(DecodeError, match="character set 'UNICODE UTF-16' is not supported"):
        decode_message(message(msh(m18="UNICODE UTF-16")))


def test_nul_bytes_are_rejected():
    with pytest.raises(DecodeError, match="NUL byte at offset 5"):
        decode_message(b"MSH|^\x00~\\&|A")


@pytest.mark.parametrize(
    "raw",
    [b"", b"\r\n", b"hello world", b"PID|1||123", b"MSH", b"MSH|", b"MSHA^~\\&|x", b"MSH|^^\\&|x", b"FHS|^~\\&|x"],
)
def test_not_hl7(raw):
    with pytest.raises(DecodeError):
        decode_message(raw)


def test_bad_segment_id_is_rejected():
    with pytest.raises(DecodeError, match="segment 2 does not start with a segment id"):
        decode_message(message(msh(), "pid|1"))


def test_lf_and_crlf_segment_separators_and_leading_whitespace():
    text = "\n" + msh() + "\r\n" + PID_LATIN + "\n" + segment("OBR", {1: "1"}) + "\n\n"
    decoded = decode_message(text.encode())
    assert [str(s[0][0]) for s in decoded.message] == ["MSH", "PID", "OBR"]


def test_custom_separators():
    raw = b"MSH#*$!%#RIS#RR8#DIDS#NHS#20240615##ORM*O01#C1#P#2.4\rPID###9434765919***NHS*NH"
    decoded = decode_message(raw)
    assert decoded.header.message_type == "ORM^O01"
    assert decoded.message.segment("PID").extract_field(1, 3, 1, 5) == "NH"


def test_read_header_is_lenient():
    header = read_header(b"  MSH|^~\\&|RIS|RR8|DIDS|NHS|2024||ORU^R01^ORU_R01|C9|P|2.4\rPID|\x00\xff garbage")
    assert (header.control_id, header.message_type, header.get(3), header.get(12)) == ("C9", "ORU^R01", "RIS", "2.4")
    assert header.get(40) == ""
    assert read_header(b"garbage") is None
