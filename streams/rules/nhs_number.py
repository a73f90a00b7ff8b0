"""NHS number and NHS number status indicator (DIDS-RULES §2.1-2.2, §5): DIDS001, 002, 003.

The NHS number arrives cleansed: trimmed, every whitespace and hyphen removed, blank is None.
"""

from __future__ import annotations

from dids.kernel.nhs_number import is_valid_nhs_number
from streams.cleanse import CleansedRecord
from streams.rules.common import finding, is_blank
from streams.rules.context import Context
from streams.rules.results import Finding

NHS_NUMBER_STATUS_CODES = frozenset({"01", "02", "03", "04", "05", "06", "07", "08"})


def check_nhs_number_valid(record: CleansedRecord, context: Context) -> Finding | None:
    """DIDS001: NHS number present and not valid (10 digits, modulus 11, not on the published list).

    A wrong-length value fails both DIDS001 and DIDS002; a 10-character non-numeric value fails only
    this one. Mirror numbers pass when modulus 11 does; N00000000N, 0123456789 and 1234567890 fail.
    """
    value = record.nhs_number
    if is_blank(value) or is_valid_nhs_number(value):
        return None
    return finding("nhs_number")


def check_nhs_number_length(record: CleansedRecord, context: Context) -> Finding | None:
    """DIDS002: NHS number present and its length is not exactly 10 characters (characters not checked)."""
    value = record.nhs_number
    if is_blank(value) or len(value) == 10:
        return None
    return finding("nhs_number")


def check_nhs_number_status(record: CleansedRecord, context: Context) -> Finding | None:
    """DIDS003: status indicator present and not exactly one of 01-08 (``1`` without the zero fails)."""
    value = record.nhs_number_status_ind
    if is_blank(value) or value in NHS_NUMBER_STATUS_CODES:
        return None
    return finding("nhs_number_status_ind")
