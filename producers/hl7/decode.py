"""Bytes of one MLLP frame -> a parsed HL7 v2 message (the ``hl7`` library), or ``DecodeError`` (AR).

Decisions (see MAPPING.md, "Decoding"):

* The frame must start with ``MSH`` (leading whitespace is ignored) followed by a field separator and
  2-5 encoding characters. Batches (``FHS``/``BHS``) are not accepted.
* NUL bytes are rejected: they never occur in HL7 text and usually mean a UTF-16 sender or a broken
  interface.
* Character set: MSH-18 decides. ``UNICODE UTF-8`` -> strict UTF-8 (invalid bytes -> AR);
  ``8859/n`` -> ISO 8859-n; empty or ``ASCII`` -> UTF-8 when the bytes are valid UTF-8, otherwise
  Windows-1252, otherwise Latin-1 (many RIS send Latin-1/cp1252 without declaring it, and a wrong
  guess only affects free text that DIDS does not use). Any other MSH-18 value -> AR.
* Segments are separated by CR; LF and CR LF are accepted too (a common file-transfer artefact).
  Every segment must start with a three-character segment id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import hl7

from producers.hl7.errors import DATA_TYPE_ERROR, REQUIRED_FIELD_MISSING, DecodeError

_SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{2}")
_ISO_8859 = re.compile(r"8859/(\d{1,2})")
_LENIENT_CHARSETS = {"", "ASCII"}
_UTF8_CHARSETS = {"UNICODE UTF-8", "UTF-8", "UTF8"}


@dataclass(frozen=True)
class MshHeader:
    """MSH read leniently from raw bytes, enough to address an ACK even when the rest is unreadable.

    ``fields[n]`` is MSH-n as raw (escaped) text, for n >= 3; MSH-1 and MSH-2 are the separators.
    """

    field_sep: str = "|"
    encoding_chars: str = "^~\\&"
    fields: tuple[str, ...] = ()

    def get(self, n: int) -> str:
        """MSH-n raw, or ""."""
        index = n - 1  # fields[0] is "MSH", fields[1] is MSH-2 (MSH-1 is the separator itself)
        return self.fields[index] if n >= 2 and index < len(self.fields) else ""

    def component(self, n: int, c: int = 1) -> str:
        parts = self.get(n).split(self.encoding_chars[0]) if self.encoding_chars else [self.get(n)]
        return parts[c - 1] if c <= len(parts) else ""

    @property
    def control_id(self) -> str:
        return self.get(10)

    @property
    def message_type(self) -> str:
        """MSH-9 as ``TYPE^TRIGGER`` (``^`` whatever the sender's component separator)."""
        code, trigger = self.component(9, 1), self.component(9, 2)
        return f"{code}^{trigger}" if trigger else code

    @property
    def charset(self) -> str:
        return self.get(18).split(self.encoding_chars[1] if len(self.encoding_chars) > 1 else "~")[0].strip()


@dataclass(frozen=True)
class Decoded:
    message: hl7.Message
    header: MshHeader
    charset: str  # the Python codec used


def read_header(payload: bytes) -> MshHeader | None:
    """The MSH segment read from raw bytes (Latin-1, which never fails), or None if there is none."""
    text = payload.lstrip(b" \t\r\n")[:4096].decode("latin-1")
    if len(text) < 8 or not text.startswith("MSH"):
        return None
    sep = text[3]
    segment = re.split(r"[\r\n]", text, maxsplit=1)[0]
    parts = segment.split(sep)
    encoding = parts[1] if len(parts) > 1 else ""
    if sep.isalnum() or sep.isspace() or not 2 <= len(encoding) <= 5 or len(set(encoding + sep)) != len(encoding) + 1:
        return None
    return MshHeader(field_sep=sep, encoding_chars=encoding, fields=tuple(parts))


def decode_message(payload: bytes) -> Decoded:
    """Parse one frame's payload; raise ``DecodeError`` (with what could be read of MSH) if we cannot."""
    header = read_header(payload)
    if not payload.strip():
        raise DecodeError("empty message", header, REQUIRED_FIELD_MISSING)
    nul = payload.find(b"\x00")
    if nul >= 0:
        raise DecodeError(f"NUL byte at offset {nul}: HL7 v2 text never contains NUL", header)
    if header is None:
        raise DecodeError("not an HL7 v2 message: it must start with an MSH segment and its separators", None)
    codec, text = _decode_text(payload, header)
    text = text.strip(" \t\r\n").replace("\r\n", "\r").replace("\n", "\r")
    segments = [s for s in text.split("\r") if s.strip()]
    for number, segment in enumerate(segments, start=1):
        if not _SEGMENT_ID.fullmatch(segment[:3]) or (len(segment) > 3 and segment[3] != header.field_sep):
            raise DecodeError(f"segment {number} does not start with a segment id and a field separator", header)
    try:
        message = hl7.parse("\r".join(segments))
    except Exception as exc:  # the library raises assorted errors on malformed input
        raise DecodeError(f"HL7 parser: {type(exc).__name__}", header) from None
    return Decoded(message=message, header=header, charset=codec)


def _decode_text(payload: bytes, header: MshHeader) -> tuple[str, str]:
    declared = header.charset.upper()
    if declared in _UTF8_CHARSETS:
        try:
            return "utf-8", payload.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DecodeError(f"invalid UTF-8 at byte {exc.start} (MSH-18 declares {declared})", header) from None
    iso = _ISO_8859.fullmatch(declared)
    if iso:
        codec = f"iso8859_{iso.group(1)}"
        try:
            return codec, payload.decode(codec)
        except (LookupError, UnicodeDecodeError):
            raise DecodeError(f"MSH-18 character set {declared} is not supported", header) from None
    if declared not in _LENIENT_CHARSETS:
        raise DecodeError(f"MSH-18 character set {declared[:40]!r} is not supported", header, DATA_TYPE_ERROR)
    for codec in ("utf-8", "cp1252"):
        try:
            return codec, payload.decode(codec)
        except UnicodeDecodeError:
            continue
    return "latin-1", payload.decode("latin-1")
