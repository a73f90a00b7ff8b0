"""Referral code lists (DIDS-RULES §2.8-2.9): the patient source settings of DIDS021 (no "not known"
code; ``1`` fails) and the referrer code national processing derives when the submitted one is blank
or fails DIDS023. The rules as expressions: ``streams.columnar.checks``."""

from __future__ import annotations

PATIENT_SOURCE_SETTING_CODES = frozenset({"01", "02", "03", "04", "05", "06", "07"})
NOT_KNOWN_REFERRER_CODE = "99"
