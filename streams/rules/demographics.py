"""Personal demographics (DIDS-RULES §2.3-2.6, 2.18): birth date, ethnicity, gender, postcode, and the
"at least one demographic" rules.

DIDS005 006 008 009 010 012 014 016 017 073 074. The GP practice code is in ``organisations``.
"""

from __future__ import annotations

from streams.cleanse import CleansedRecord
from streams.formats import CalendarDate, is_pseudo_postcode, is_valid_postcode_format
from streams.memo import table_memo
from streams.refdata.protocols import PostcodeDirectory
from streams.rules.common import (
    birth_months_after_exceeds,
    finding,
    is_blank,
    is_invalid_date,
    out_of_order,
    usable_date,
)
from streams.rules.context import Context
from streams.rules.results import Finding

ETHNIC_CATEGORY_CODES = frozenset("ABCDEFGHJKLMNPRSZ") | {"99"}
PERSON_GENDER_CODES = frozenset({"0", "1", "2", "9"})

# the latest birth date DIDS009 still rejects; 1900-01-02 is the earliest accepted
_LAST_REJECTED_BIRTH_DATE = CalendarDate(1900, 1, 1)


def check_birth_date_format(record: CleansedRecord, context: Context) -> Finding | None:
    """DIDS005: birth date present and not a valid ``CCYY-MM-DD`` date (§1.3; day 00 is invalid)."""
    if is_invalid_date(record.person_birth_date):
        return finding("person_birth_date")
    return None


def check_birth_date_before_test(record: CleansedRecord, context: Context) -> Finding | None:
    """DIDS006: birth date after the test date. Pair rule: equal dates pass; blank or invalid skips."""
    if out_of_order(record.person_birth_date, record.diagnostic_test_date):
        return finding("person_birth_date", "diagnostic_test_date")
    return None


def check_birth_date_before_report(record: CleansedRecord, context: Context) -> Finding | None:
    """DIDS008: birth date after the report issue date. Pair rule: equal dates pass."""
    if out_of_order(record.person_birth_date, record.service_report_date):
        return finding("person_birth_date", "service_report_date")
    return None


def check_birth_date_after_1900(record: CleansedRecord, context: Context) -> Finding | None:
    """DIDS009: birth date valid and on or before 1900-01-01 (1900-01-02 is the earliest accepted)."""
    birth = usable_date(record.person_birth_date)
    if birth is not None and birth <= _LAST_REJECTED_BIRTH_DATE:
        return finding("person_birth_date")
    return None


def check_birth_not_long_after_request(record: CleansedRecord, context: Context) -> Finding | None:
    """DIDS010: birth month more than 6 calendar months after the request month (days ignored).

    Request 2024-01-15: any birth date in July 2024 passes (6), any in August 2024 fails (7).
    Skip when either date is blank or invalid.
    """
    if birth_months_after_exceeds(record.person_birth_date, record.diagnostic_test_request_date):
        return finding("person_birth_date", "diagnostic_test_request_date")
    return None


def check_ethnic_category(record: CleansedRecord, context: Context) -> Finding | None:
    """DIDS012: ethnic category present and not one of A-H, J-N, P, R, S, Z, 99; case-sensitive (``a`` fails)."""
    value = record.ethnic_category
    if is_blank(value) or value in ETHNIC_CATEGORY_CODES:
        return None
    return finding("ethnic_category")


def check_person_gender(record: CleansedRecord, context: Context) -> Finding | None:
    """DIDS014: gender present and not 0, 1, 2 or 9.

    The reference treats only a true null as missing; here blank after trimming also passes (assumption).
    """
    value = record.person_gender_code
    if is_blank(value) or value in PERSON_GENDER_CODES:
        return None
    return finding("person_gender_code")


def check_postcode_format(record: CleansedRecord, context: Context) -> Finding | None:
    """DIDS017: postcode present and not matching the §7.1 pattern (``LS12AB`` without a space fails)."""
    value = record.postcode
    if is_blank(value) or is_valid_postcode_format(value):
        return None
    return finding("postcode")


def check_postcode_known(record: CleansedRecord, context: Context) -> Finding | None:
    """DIDS016: postcode present, not a ``ZZ99`` pseudo-postcode, and not in the ONS Postcode Directory.

    Case and spaces do not matter in the lookup; terminated postcodes count as present. Runs even when
    DIDS017 fails, so a badly formatted postcode can raise both.
    """
    value = record.postcode
    if is_blank(value) or is_pseudo_postcode(value) or postcode_known(context.postcodes, value):
        return None
    return finding("postcode")


def postcode_known(directory: PostcodeDirectory, postcode: str) -> bool:
    """``directory.contains``, memoised per read-only directory (streams.memo): a patient's postcode
    comes back with every version of each examination."""
    memo = table_memo(directory, "postcode_known")
    known = memo.get(postcode)
    if known is None:
        known = memo[postcode] = directory.contains(postcode)
    return known


_DEMOGRAPHIC_ITEMS = (
    "nhs_number",
    "person_birth_date",
    "ethnic_category",
    "person_gender_code",
    "postcode",
    "practice_code",
)


def check_some_demographic(record: CleansedRecord, context: Context) -> Finding | None:
    """DIDS073: all six demographic items blank (NHS number, birth, ethnicity, gender, postcode, practice)."""
    if all(is_blank(getattr(record, name)) for name in _DEMOGRAPHIC_ITEMS):
        return finding(*_DEMOGRAPHIC_ITEMS)
    return None


def check_not_only_pseudo_postcode(record: CleansedRecord, context: Context) -> Finding | None:
    """DIDS074: the only demographic given is a ``ZZ99`` pseudo-postcode (either case).

    A blank postcode is not a pseudo-postcode: with everything blank only DIDS073 fires.
    """
    postcode = record.postcode
    others = (name for name in _DEMOGRAPHIC_ITEMS if name != "postcode")
    if is_blank(postcode) or not is_pseudo_postcode(postcode):
        return None
    if all(is_blank(getattr(record, name)) for name in others):
        return finding(*_DEMOGRAPHIC_ITEMS)
    return None
