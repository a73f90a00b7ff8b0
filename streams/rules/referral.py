"""Referral (DIDS-RULES §2.8-2.9): patient source setting and referrer code. DIDS020, 021, 023.

The referring organisation code is in ``organisations`` (it needs ODS).
"""

from __future__ import annotations

from streams.cleanse import CleansedRecord
from streams.formats import is_valid_referrer_code
from streams.rules.common import finding, is_blank
from streams.rules.context import Context
from streams.rules.results import Finding

PATIENT_SOURCE_SETTING_CODES = frozenset({"01", "02", "03", "04", "05", "06", "07"})

# The referrer code national processing derives when the submitted code is blank or fails DIDS023.
NOT_KNOWN_REFERRER_CODE = "99"


def check_source_setting_present(record: CleansedRecord, context: Context) -> Finding | None:
    """DIDS020: patient source setting blank (mandatory item)."""
    if is_blank(record.patient_source_setting):
        return finding("patient_source_setting")
    return None


def check_source_setting_code(record: CleansedRecord, context: Context) -> Finding | None:
    """DIDS021: source setting present and not exactly 01-07 (no "not known" code; ``1`` fails)."""
    value = record.patient_source_setting
    if is_blank(value) or value in PATIENT_SOURCE_SETTING_CODES:
        return None
    return finding("patient_source_setting")


def check_referrer_code(record: CleansedRecord, context: Context) -> Finding | None:
    """DIDS023 (warning): referrer present and matching no §7.3 pattern; case is ignored.

    The record is kept and the derived referrer code becomes ``99``: the Finding carries
    ``("referrer_code", "99")``; the record itself is not changed. A blank referrer also derives ``99``
    but raises no warning (that is a derivation, not this rule).
    """
    value = record.referrer
    if is_blank(value) or is_valid_referrer_code(value):
        return None
    return finding("referrer", derived=(("referrer_code", NOT_KNOWN_REFERRER_CODE),))
