"""National date strings and the six day intervals between request, receipt, test and report (§7.3)."""

from __future__ import annotations

from streams.cleanse import CleansedRecord
from streams.formats import parse_calendar_date


def national_date(text: str | None) -> str | None:
    """The date as the national record carries it, ``CCYY-MM-DD``; None when blank or not a valid date."""
    return text if parse_calendar_date(text) is not None else None


def days_between(start: str | None, end: str | None) -> int | None:
    """Whole calendar days ``end - start`` (no working-day logic); None when either date is unusable.

    31 Dec -> 1 Jan is 1; 28 Feb 2024 -> 1 Mar 2024 is 2. Negative when ``end`` precedes ``start``,
    which only rejected records can have (DIDS027/034/035/043/044/048).
    """
    first, last = parse_calendar_date(start), parse_calendar_date(end)
    if first is None or last is None:
        return None
    return last.ordinal - first.ordinal


def derive_intervals(record: CleansedRecord) -> dict[str, int | None]:
    """The six interval columns of the national record."""
    request = record.diagnostic_test_request_date
    received = record.diag_test_request_rec_date
    test = record.diagnostic_test_date
    report = record.service_report_date
    return {
        "TEST_REQUEST_TO_TEST_REQUEST_RECEIVED": days_between(request, received),
        "TEST_REQUEST_TO_TEST": days_between(request, test),
        "TEST_REQUEST_TO_SERVICE_REPORT_ISSUED": days_between(request, report),
        "TEST_REQUEST_RECEIVED_TO_TEST": days_between(received, test),
        "TEST_REQUEST_RECEIVED_TO_SERVICE_REPORT_ISSUED": days_between(received, report),
        "TEST_TO_SERVICE_REPORT_ISSUED": days_between(test, report),
    }
