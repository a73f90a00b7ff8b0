"""REFERRER_CODE, DERIVED_REFERRER_CODE and DERIVED_REFERRER_TYPE (DIDS-SPEC §2.2.4, §7.5).

Validity (DIDS023) and type use different patterns, reproduced with their quirks: ``ZE1234`` is not a
valid code (Northern Ireland GP codes need exactly 6 digits), so its REFERRER_CODE is ``99``, yet its
type is ``GP N.Ireland`` (the type accepts 1-6 digits); an NMC PIN is typed ``Nurse`` even for a midwife.

REFERRER_CODE is null when blank, the trimmed code when valid (DIDS023's patterns), ``99`` when not;
DERIVED_REFERRER_CODE the same with ``99`` for blank too; DERIVED_REFERRER_TYPE the label of the first
type pattern the whole trimmed code matches, ignoring case, else ``Not Known``. The columns are
``streams.columnar.derivations``'.
"""

from __future__ import annotations

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
