"""Original-mode HL7 acknowledgements: ``AA`` accepted, ``AE`` error, ``AR`` reject.

The ACK uses the sender's own separators, swaps sending and receiving application/facility, echoes
MSH-9's trigger, MSH-10 (in MSA-2), MSH-11 and MSH-12, and for AE/AR carries the reason twice: in
MSA-3 (v2.4, at most 80 characters) and in ERR (v2.5 layout: ERR-2 location, ERR-3 table 0357 code,
ERR-4 severity E, ERR-8 user message), so both older and newer interface engines show it.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from producers.hl7.decode import MshHeader
from producers.hl7.errors import ERROR_TEXT, Hl7Error

_LOCATION = re.compile(r"([A-Z][A-Z0-9]{2})(?:-(\d+))?")


def build_ack(header: MshHeader | None, code: str, error: Hl7Error | None = None, now: datetime | None = None) -> bytes:
    """The ACK message (without MLLP framing), ASCII-safe bytes."""
    h = header or MshHeader()
    sep, enc = h.field_sep, h.encoding_chars
    comp = enc[0]
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d%H%M%S+0000")
    trigger = h.component(9, 2)
    msh = [
        "MSH",
        enc,
        h.get(5) or "DIDS",
        h.get(6) or "DIDS",
        h.get(3),
        h.get(4),
        stamp,
        "",
        comp.join(("ACK", trigger, "ACK")) if trigger else "ACK",
        uuid.uuid4().hex[:20].upper(),
        h.get(11) or "P",
        h.get(12) or "2.4",
    ]
    segments = [sep.join(msh)]
    msa = ["MSA", code, h.control_id]
    if error is not None:
        msa.append(escape(error.reason[:80], h))
        segments.append(sep.join(msa))
        location = _location(error.location, comp)
        code_text = comp.join((str(error.code), escape(ERROR_TEXT.get(error.code, ""), h), "HL70357"))
        segments.append(sep.join(["ERR", "", location, code_text, "E", "", "", "", escape(error.reason[:250], h)]))
    else:
        segments.append(sep.join(msa))
    return ("\r".join(segments) + "\r").encode("ascii", "replace")


def escape(text: str, header: MshHeader) -> str:
    """HL7 escaping of our own text under the sender's separators; non-ASCII and controls become '?'."""
    enc = header.encoding_chars
    esc = enc[2] if len(enc) > 2 else "\\"
    out = text.replace(esc, f"{esc}E{esc}")
    names = ("S", "R", "E", "T")
    for char, name in ((header.field_sep, "F"), *zip(enc, names, strict=False)):
        if char != esc:
            out = out.replace(char, f"{esc}{name}{esc}")
    return "".join(c if " " <= c <= "~" else "?" for c in out)


def _location(location: str, comp: str) -> str:
    """ERR-2 (ERL): segment id ^ sequence ^ field position, from e.g. ``OBR-4``."""
    m = _LOCATION.fullmatch(location or "")
    if not m:
        return ""
    return comp.join((m[1], "1", m[2])) if m[2] else comp.join((m[1], "1"))
