"""REFERRER_CODE, DERIVED_REFERRER_CODE and DERIVED_REFERRER_TYPE, quirks included (DIDS-SPEC §2.2.4, §7.5)."""

from __future__ import annotations

import pytest

from .fixtures import derived_by_key

CASES = [
    ("C1234567", "C1234567", "C1234567", "Consultant"),
    ("c123", "c123", "c123", "Consultant"),  # case ignored; the code is kept as submitted
    ("CD123456", "CD123456", "CD123456", "Dental Consultant"),
    ("D1234567", "D1234567", "D1234567", "Dentist"),
    ("CH123", "CH123", "CH123", "Chiropodist"),
    ("DT123456", "DT123456", "DT123456", "Dietician"),
    ("G1234567", "G1234567", "G1234567", "GP"),
    ("G9999998", "G9999998", "G9999998", "GP"),
    ("G9999981", "G9999981", "G9999981", "GP"),
    ("C9999998", "C9999998", "C9999998", "Consultant"),
    ("D9999981", "D9999981", "D9999981", "Dentist"),
    ("ZE123456", "ZE123456", "ZE123456", "GP N.Ireland"),
    ("ZE1234", "99", "99", "GP N.Ireland"),  # quirk: invalid (needs 6 digits) yet typed
    ("ZW1", "99", "99", "GP N.Ireland"),
    ("S1234567", "S1234567", "S1234567", "GP Scotland"),
    ("12A3456B", "12A3456B", "12A3456B", "Nurse"),  # NMC PIN: Nurse even for a midwife
    ("N9999998", "N9999998", "N9999998", "Nurse"),
    ("M9999998", "M9999998", "M9999998", "Midwife"),
    ("A9999998", "A9999998", "A9999998", "Ministry of Defence Doctor"),
    ("P9999981", "P9999981", "P9999981", "Prison doctor"),
    ("PH123456", "PH123456", "PH123456", "Physiotherapist"),
    ("SL1", "SL1", "SL1", "Speech and Language Therapist"),
    ("H9999998", "H9999998", "H9999998", "Other health professionals"),
    ("R9999981", "R9999981", "R9999981", "Other health professionals"),
    ("X9999998", "X9999998", "X9999998", "Not Known"),
    ("C12345678", "99", "99", "Not Known"),  # 8 digits: invalid and untyped
    ("ZE1234567", "99", "99", "Not Known"),
    ("Q123", "99", "99", "Not Known"),
    ("R9999998", "99", "99", "Not Known"),
    (None, None, "99", "Not Known"),
    ("", None, "99", "Not Known"),
]
PADDED = " G1234567 "


@pytest.fixture(scope="module")
def referrer_fields() -> dict:
    """(REFERRER_CODE, DERIVED_REFERRER_CODE, DERIVED_REFERRER_TYPE) by submitted referrer, all in one batch."""
    codes = [code for code, *_ in CASES] + [PADDED]
    derived = derived_by_key({code: {"referrer": code} for code in codes})
    columns = ("REFERRER_CODE", "DERIVED_REFERRER_CODE", "DERIVED_REFERRER_TYPE")
    return {code: tuple(row[column] for column in columns) for code, row in derived.items()}


@pytest.mark.parametrize(("code", "referrer", "derived", "kind"), CASES)
def test_referrer_outputs(code: str | None, referrer: str | None, derived: str, kind: str, referrer_fields) -> None:
    assert referrer_fields[code] == (referrer, derived, kind)


def test_padding_is_trimmed(referrer_fields) -> None:
    # cleansing trims the item before the fields are derived from it
    referrer, _, kind = referrer_fields[PADDED]
    assert referrer == "G1234567"
    assert kind == "GP"
