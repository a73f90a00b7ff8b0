"""The national DIDS v1 data-quality rules (DIDS001-DIDS082) as pure functions.

One module per data-item group, imported here by name so the list stays visible; ``registry`` maps each
national code to its function, severity and needs; ``engine`` runs them. Rules never log, do I/O or read
settings: everything they may see is in the record and the ``Context``.

Typical use::

    from streams.cleanse import cleanse
    from streams.rules import Context, validate_submission

    outcomes = validate_submission([cleanse(row) for row in rows], Context(submission_time=received))
"""

from streams.rules import (
    accession,
    dates,
    demographics,
    imaging_codes,
    nhs_number,
    organisations,
    referral,
    site,
    submission,
)
from streams.rules.context import Context, GracePeriod
from streams.rules.engine import UNIQUENESS_CODE, Outcome, check, check_record, validate, validate_submission
from streams.rules.registry import RULES, Rule
from streams.rules.results import Fail, Need, NotChecked, Pass, Result, Severity

__all__ = [
    "RULES",
    "Context",
    "Fail",
    "GracePeriod",
    "Need",
    "NotChecked",
    "Outcome",
    "Pass",
    "Result",
    "Rule",
    "Severity",
    "accession",
    "UNIQUENESS_CODE",
    "check",
    "check_record",
    "dates",
    "demographics",
    "imaging_codes",
    "nhs_number",
    "organisations",
    "referral",
    "site",
    "submission",
    "validate",
    "validate_submission",
]
