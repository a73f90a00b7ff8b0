"""Referral and examination dates (DIDS-RULES §2.11-2.14), except those relative to the submission.

Request date: DIDS026 027 028 031 034 035. Request received date: 036 038 040 041 043 044.
Test date: 045 050. Service report issue date: 048 061 062. (Birth date pairs are in ``demographics``;
049 051 055 066 are in ``submission``.)

Pair rules (A <= B) skip when either side is blank or invalid: the format rules report those. Every
comparison is between calendar dates and inclusive unless the docstring says strict.
"""

from __future__ import annotations

from streams.cleanse import CleansedRecord
from streams.formats import CalendarDate
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

# request and received dates before this are rejected; the date itself passes
_EARLIEST_REFERRAL_DATE = CalendarDate(1970, 1, 1)
# a test more than this many days after the request (or its receipt) is flagged; exactly 365 passes
_MAX_DAYS_REQUEST_TO_TEST = 365


def _days_exceed(earlier_text: str | None, later_text: str | None, limit: int) -> bool:
    earlier, later = usable_date(earlier_text), usable_date(later_text)
    return earlier is not None and later is not None and later.ordinal - earlier.ordinal > limit


def _before_earliest(text: str | None) -> bool:
    value = usable_date(text)
    return value is not None and value < _EARLIEST_REFERRAL_DATE


# ---- request date ----


def check_request_date_format(record: CleansedRecord, context: Context) -> Finding | None:
    """DIDS026: request date present and not a valid date."""
    if is_invalid_date(record.diagnostic_test_request_date):
        return finding("diagnostic_test_request_date")
    return None


def check_request_before_received(record: CleansedRecord, context: Context) -> Finding | None:
    """DIDS027: request date after the request received date (pair rule)."""
    if out_of_order(record.diagnostic_test_request_date, record.diag_test_request_rec_date):
        return finding("diagnostic_test_request_date", "diag_test_request_rec_date")
    return None


def check_request_not_before_1970(record: CleansedRecord, context: Context) -> Finding | None:
    """DIDS031: request date valid and before 1970-01-01 (1970-01-01 itself passes)."""
    if _before_earliest(record.diagnostic_test_request_date):
        return finding("diagnostic_test_request_date")
    return None


def check_request_before_test(record: CleansedRecord, context: Context) -> Finding | None:
    """DIDS034: request date after the test date (pair rule; same day passes)."""
    if out_of_order(record.diagnostic_test_request_date, record.diagnostic_test_date):
        return finding("diagnostic_test_request_date", "diagnostic_test_date")
    return None


def check_request_before_report(record: CleansedRecord, context: Context) -> Finding | None:
    """DIDS035: report issue date before the request date (pair rule)."""
    if out_of_order(record.diagnostic_test_request_date, record.service_report_date):
        return finding("diagnostic_test_request_date", "service_report_date")
    return None


def check_test_within_year_of_request(record: CleansedRecord, context: Context) -> Finding | None:
    """DIDS028 (warning): test more than 365 days after the request; exactly 365 days passes."""
    request, test = record.diagnostic_test_request_date, record.diagnostic_test_date
    if _days_exceed(request, test, _MAX_DAYS_REQUEST_TO_TEST):
        return finding("diagnostic_test_request_date", "diagnostic_test_date")
    return None


# ---- request received date ----


def check_received_date_format(record: CleansedRecord, context: Context) -> Finding | None:
    """DIDS036: request received date present and not a valid date."""
    if is_invalid_date(record.diag_test_request_rec_date):
        return finding("diag_test_request_rec_date")
    return None


def check_birth_not_long_after_received(record: CleansedRecord, context: Context) -> Finding | None:
    """DIDS040: request received more than 6 calendar months before the birth month (as DIDS010)."""
    if birth_months_after_exceeds(record.person_birth_date, record.diag_test_request_rec_date):
        return finding("diag_test_request_rec_date", "person_birth_date")
    return None


def check_received_not_before_1970(record: CleansedRecord, context: Context) -> Finding | None:
    """DIDS041: request received date valid and before 1970-01-01."""
    if _before_earliest(record.diag_test_request_rec_date):
        return finding("diag_test_request_rec_date")
    return None


def check_received_before_test(record: CleansedRecord, context: Context) -> Finding | None:
    """DIDS043: request received date after the test date (pair rule)."""
    if out_of_order(record.diag_test_request_rec_date, record.diagnostic_test_date):
        return finding("diag_test_request_rec_date", "diagnostic_test_date")
    return None


def check_received_before_report(record: CleansedRecord, context: Context) -> Finding | None:
    """DIDS044: request received date after the report issue date (pair rule)."""
    if out_of_order(record.diag_test_request_rec_date, record.service_report_date):
        return finding("diag_test_request_rec_date", "service_report_date")
    return None


def check_test_within_year_of_received(record: CleansedRecord, context: Context) -> Finding | None:
    """DIDS038 (warning): test more than 365 days after the request was received (365 passes)."""
    received, test = record.diag_test_request_rec_date, record.diagnostic_test_date
    if _days_exceed(received, test, _MAX_DAYS_REQUEST_TO_TEST):
        return finding("diag_test_request_rec_date", "diagnostic_test_date")
    return None


# ---- test date ----


def check_test_date_present(record: CleansedRecord, context: Context) -> Finding | None:
    """DIDS050: test date blank (mandatory item)."""
    if is_blank(record.diagnostic_test_date):
        return finding("diagnostic_test_date")
    return None


def check_test_date_format(record: CleansedRecord, context: Context) -> Finding | None:
    """DIDS045: test date present and not a valid date."""
    if is_invalid_date(record.diagnostic_test_date):
        return finding("diagnostic_test_date")
    return None


# ---- service report issue date ----


def check_report_date_format(record: CleansedRecord, context: Context) -> Finding | None:
    """DIDS061: report issue date present and not a valid date."""
    if is_invalid_date(record.service_report_date):
        return finding("service_report_date")
    return None


def check_report_not_before_test(record: CleansedRecord, context: Context) -> Finding | None:
    """DIDS048: report issue date before the test date (pair rule; same day passes)."""
    if out_of_order(record.diagnostic_test_date, record.service_report_date):
        return finding("diagnostic_test_date", "service_report_date")
    return None


def check_report_within_month_of_test(record: CleansedRecord, context: Context) -> Finding | None:
    """DIDS062 (warning): report issue date later than test date + 1 calendar month (strict).

    The month is added keeping the day, clamped to the month end: test 2024-01-31 allows a report up to
    2024-02-29; a month end is not carried to the next month end (2024-02-29 allows up to 2024-03-29).
    """
    test, report = usable_date(record.diagnostic_test_date), usable_date(record.service_report_date)
    if test is not None and report is not None and report > test.add_months(1):
        return finding("diagnostic_test_date", "service_report_date")
    return None
