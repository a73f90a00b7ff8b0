"""HL7 acknowledgements: original mode (``AA`` accepted, ``AE`` error, ``AR`` reject), enhanced mode's
commit acknowledgements (``CA``, ``CE``, ``CR``: the same shape) and its application acknowledgement
(``AA``/``AE`` with one ERR per failed national rule, ``build_application_ack``).

The ACK uses the sender's own separators, swaps sending and receiving application/facility, echoes
MSH-9's trigger, MSH-10 (in MSA-2), MSH-11 and MSH-12, and for AE/AR carries the reason twice: in
MSA-3 (v2.4, at most 80 characters) and in ERR (v2.5 layout: ERR-2 location, ERR-3 table 0357 code,
ERR-4 severity E, ERR-8 user message), so both older and newer interface engines show it.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from producers.hl7.decode import MshHeader
from producers.hl7.errors import ERROR_TEXT, Hl7Error

_LOCATION = re.compile(r"([A-Z][A-Z0-9]{2})(?:-(\d+))?")


def build_ack(
    header: MshHeader | None,
    code: str,
    error: Hl7Error | None = None,
    now: datetime | None = None,
    enhanced: bool = False,
) -> bytes:
    """The ACK message (without MLLP framing), ASCII-safe bytes. ``enhanced``: MSH-15/16 = NE, so the
    sender does not acknowledge the acknowledgement."""
    h = header or MshHeader()
    segments = [_msh(h, now, enhanced)]
    sep, comp = h.field_sep, h.encoding_chars[0]
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


@dataclass(frozen=True)
class RuleFailure:
    """One failed national rule, as an application acknowledgement reports it."""

    code: str  # DIDS001 ...
    severity: str  # error | warning
    description: str  # the rule's national wording
    locations: tuple[tuple[str, int, int], ...] = ()  # (segment id, sequence, field), e.g. ("PID", 1, 3)


def build_application_ack(
    header: MshHeader, failures: list[RuleFailure], now: datetime | None = None, enhanced: bool = True
) -> bytes:
    """The application acknowledgement of a judged message: ``AE`` when a rule rejects it, else ``AA``;
    one ERR per failed rule (warnings too): ERR-2 the fields (repeated), ERR-3 and ERR-5 code^wording^DIDS,
    ERR-4 E or W, ERR-8 code and wording. MSA-3 (v2.4 engines) lists the rejecting codes. ``enhanced=False``:
    the single ACK of an original-mode message that waited for its verdict (``--ack-wait``)."""
    sep, enc = header.field_sep, header.encoding_chars
    comp, rep = enc[0], enc[1] if len(enc) > 1 else "~"
    errors = sorted({f.code for f in failures if f.severity == "error"})
    msa = ["MSA", "AE" if errors else "AA", header.control_id]
    if errors:
        msa.append(escape(f"rejected by national rules {', '.join(errors)}"[:80], header))
    segments = [_msh(header, now, enhanced), sep.join(msa)]
    for failure in failures:
        where = rep.join(comp.join((segment, str(seq), str(field))) for segment, seq, field in failure.locations)
        wording = escape(failure.description.replace("§", "section ")[:200], header)  # the ACK is ASCII
        code = escape(failure.code[:20], header)
        coded = comp.join((code, wording, "DIDS"))
        severity = "E" if failure.severity == "error" else "W"
        segments.append(sep.join(["ERR", "", where, coded, severity, coded, "", "", f"{code}: {wording}"]))
    return ("\r".join(segments) + "\r").encode("ascii", "replace")


def _msh(h: MshHeader, now: datetime | None, enhanced: bool) -> str:
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
    if enhanced:
        msh += ["", "", "NE", "NE"]  # MSH-13, 14; MSH-15/16: do not acknowledge this acknowledgement
    return sep.join(msh)


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
