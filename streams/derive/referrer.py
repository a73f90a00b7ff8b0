"""REFERRER_CODE, DERIVED_REFERRER_CODE and DERIVED_REFERRER_TYPE (DIDS-SPEC §2.2.4, §7.5).

Validity (DIDS023) and type use different patterns, reproduced with their quirks: ``ZE1234`` is not a
valid code (Northern Ireland GP codes need exactly 6 digits), so its REFERRER_CODE is ``99``, yet its
type is ``GP N.Ireland`` (the type accepts 1-6 digits); an NMC PIN is typed ``Nurse`` even for a midwife.
"""

from __future__ import annotations

import re

from streams.formats import is_valid_referrer_code

NOT_KNOWN_CODE = "99"
NOT_KNOWN_TYPE = "Not Known"

# (pattern, type label), tried in order; each pattern must match the whole code, ignoring case
TYPES: tuple[tuple[str, str], ...] = (
    (r"C[0-9]{1,7}", "Consultant"),
    (r"CD[0-9]{1,6}", "Dental Consultant"),
    (r"D[0-9]{1,7}", "Dentist"),
    (r"CH[0-9]{1,6}", "Chiropodist"),
    (r"DT[0-9]{1,6}", "Dietician"),
    (r"G[0-9]{1,7}", "GP"),
    (r"Z[ENSW][0-9]{1,6}", "GP N.Ireland"),
    (r"S[0-9]{1,7}", "GP Scotland"),
    (r"[0-9]{2}[A-Z][0-9]{4}[A-Z]|N9999998", "Nurse"),
    (r"M9999998", "Midwife"),
    (r"A9999998", "Ministry of Defence Doctor"),
    (r"P9999981", "Prison doctor"),
    (r"PH[0-9]{1,6}", "Physiotherapist"),
    (r"SL[0-9]{1,6}", "Speech and Language Therapist"),
    (r"H9999998|R9999981", "Other health professionals"),
)
_TYPE_PATTERNS = tuple((re.compile(pattern, re.ASCII | re.IGNORECASE), label) for pattern, label in TYPES)


def referrer_code(code: str | None) -> str | None:
    """REFERRER_CODE: None when blank; the trimmed code when valid; ``99`` when invalid (warning DIDS023)."""
    if code is None or not code.strip():
        return None
    return code.strip() if is_valid_referrer_code(code) else NOT_KNOWN_CODE


def derived_referrer_code(code: str | None) -> str:
    """DERIVED_REFERRER_CODE: the trimmed code when valid; ``99`` when blank or invalid."""
    return referrer_code(code) or NOT_KNOWN_CODE


def derived_referrer_type(code: str | None) -> str:
    """DERIVED_REFERRER_TYPE from the trimmed code, whatever its validity; ``Not Known`` for ``X9999998``,
    blank and anything no type pattern matches."""
    if code is None:
        return NOT_KNOWN_TYPE
    value = code.strip()
    for pattern, label in _TYPE_PATTERNS:
        if pattern.fullmatch(value):
            return label
    return NOT_KNOWN_TYPE
