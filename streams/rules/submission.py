"""Dates relative to the submission (DIDS-RULES §2.13-2.14, §4): DIDS049, 051, 055, 066.

S is ``Context.submission_time`` (UTC) and SM its calendar month. Without S these rules are not checked
(the registry reports that); with a blank or invalid date they skip.

DIDS049/055 come in two forms:

* **calendar-month form** (default, what the published rules mean): with
  ``m = monthIndex(SM) - monthIndex(T)``, DIDS055 rejects ``m >= 7`` (T before start(SM) - 6 months)
  and DIDS049 warns for ``4 <= m <= 6`` (T in [start(SM) - 6 months, start(SM) - 3 months)).
  Submission received 2024-07-10: T <= 2023-12-31 rejected, 2024-01-01..2024-03-31 warned,
  from 2024-04-01 clean.
* **reference formula** (``Context.reference_month_formula``): the fractional month count
  ``mb(T) = 12*(year(SMend) - year(T)) + (month(SMend) - month(T)) + (0 if T is a month end else
  (day(SMend) - day(T)) / 31)``; DIDS055 when ``mb >= 7``, DIDS049 when ``4 <= mb < 7``.

They differ only when SM is February and T is the 29th or 30th (only the 30th when February has 29 days)
of July seven months earlier, or of October four months earlier: the reference gives ``mb`` just under 7
(or 4) and lets such a date through one band early (DIDS049 instead of DIDS055, clean instead of
DIDS049). The 31st is a month end, so it is classified as expected.
"""

from __future__ import annotations

from fractions import Fraction

from streams.cleanse import CleansedRecord
from streams.formats import CalendarDate, days_in_month
from streams.rules.common import finding, usable_date
from streams.rules.context import Context
from streams.rules.results import Finding

_REJECT_MONTHS = 7  # DIDS055 from this many months before SM
_WARN_MONTHS = 4  # DIDS049 from this many, up to the reject band


def months_before_submission(test: CalendarDate, submitted: CalendarDate, *, reference: bool) -> Fraction:
    """How many months T lies before the submission month: whole calendar months, or the reference's mb(T)."""
    whole = submitted.month_index - test.month_index
    if not reference or test.day == days_in_month(test.year, test.month):
        return Fraction(whole)
    month_end_day = days_in_month(submitted.year, submitted.month)
    return whole + Fraction(month_end_day - test.day, 31)


def _months_before(record: CleansedRecord, context: Context) -> Fraction | int | None:
    test = usable_date(record.diagnostic_test_date)
    if test is None:
        return None
    submitted = context.submission_date
    if not context.reference_month_formula:
        # the calendar-month form is a whole number: compare the int, equal to the Fraction it would make
        return submitted.month_index - test.month_index
    return months_before_submission(test, submitted, reference=True)


def check_test_not_too_old(record: CleansedRecord, context: Context) -> Finding | None:
    """DIDS055: test date more than 6 months before the start of the submission month (reject)."""
    months = _months_before(record, context)
    if months is not None and months >= _REJECT_MONTHS:
        return finding("diagnostic_test_date")
    return None


def check_test_not_late(record: CleansedRecord, context: Context) -> Finding | None:
    """DIDS049 (warning): test date more than 3 months before the start of SM, and not DIDS055."""
    months = _months_before(record, context)
    if months is not None and _WARN_MONTHS <= months < _REJECT_MONTHS:
        return finding("diagnostic_test_date")
    return None


def check_test_not_after_submission(record: CleansedRecord, context: Context) -> Finding | None:
    """DIDS051: test date after the calendar date of S (UTC); a test on the submission day passes."""
    test = usable_date(record.diagnostic_test_date)
    if test is not None and test > context.submission_date:
        return finding("diagnostic_test_date")
    return None


def check_report_not_after_submission(record: CleansedRecord, context: Context) -> Finding | None:
    """DIDS066: report issue date after the calendar date of S (UTC); the same day passes."""
    report = usable_date(record.service_report_date)
    if report is not None and report > context.submission_date:
        return finding("service_report_date")
    return None
