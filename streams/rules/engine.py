"""Run the national rules: one record (``validate``) or a whole submission (``validate_submission``).

Every record rule runs on its own and every failure is reported (DIDS-RULES §1.1). A record is accepted
when none of its failures is a record (or file) reject; warnings and not-checked rules never block it.
The same functions serve the stream processor and ``dids validate``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from operator import attrgetter

from streams.cleanse import CleansedRecord
from streams.rules.accession import UNIQUENESS_FIELDS, find_duplicates
from streams.rules.context import Context
from streams.rules.registry import RECORD_RULES, RULES
from streams.rules.results import Fail, NotChecked, Pass, Result, Severity

_UNIQUENESS_CODE = "DIDS071"
_CODE = attrgetter("code")


@dataclass(frozen=True)
class Outcome:
    """The rule results for one record.

    ``rejects``, ``warnings`` and ``not_checked`` are sorted rule codes; ``results`` has one result per
    rule run, in code order. Derived values (DIDS023's referrer code ``99``) are in ``Fail.derived``.
    """

    accepted: bool
    rejects: list[str]
    warnings: list[str]
    not_checked: list[str]
    results: tuple[Result, ...]

    @classmethod
    def from_results(cls, results: Iterable[Result]) -> Outcome:
        ordered = tuple(sorted(results, key=_CODE))
        # one pass; ``ordered`` is in code order, so each list comes out sorted
        rejects: list[str] = []
        warnings: list[str] = []
        not_checked: list[str] = []
        for result in ordered:
            if isinstance(result, Fail):
                (warnings if result.severity is Severity.WARNING else rejects).append(result.code)
            if isinstance(result, NotChecked):
                not_checked.append(result.code)
        return cls(
            accepted=not rejects,
            rejects=rejects,
            warnings=warnings,
            not_checked=not_checked,
            results=ordered,
        )

    @property
    def failures(self) -> tuple[Fail, ...]:
        """The failed rules, rejects and warnings alike, in code order."""
        return tuple(result for result in self.results if isinstance(result, Fail))


def check_record(record: CleansedRecord, context: Context) -> list[Result]:
    """Every record rule's result for one record, in code order (no DIDS071: it needs the submission)."""
    return [rule.evaluate(record, context) for rule in RECORD_RULES]


def validate(record: CleansedRecord, context: Context) -> Outcome:
    """Validate one cleansed record with every record rule.

    DIDS071 is not part of it: a single streamed record has no submission to be unique in (a repeated key
    in the stream is a new version of the examination). Use ``validate_submission`` for files.
    """
    return Outcome.from_results(check_record(record, context))


def validate_submission(records: Sequence[CleansedRecord], context: Context) -> list[Outcome]:
    """Validate a whole submission: every record rule plus DIDS071 across all records, in input order.

    DIDS071 is computed over every record before anything is dropped; each member of a duplicate group
    fails it (fields: site code and accession number); a record with either key part blank passes it
    (DIDS067/070 reject that record).
    """
    duplicates = find_duplicates(records)
    severity = RULES[_UNIQUENESS_CODE].severity
    outcomes = []
    for index, record in enumerate(records):
        uniqueness: Result = (
            Fail(_UNIQUENESS_CODE, severity, UNIQUENESS_FIELDS) if index in duplicates else Pass(_UNIQUENESS_CODE)
        )
        outcomes.append(Outcome.from_results([*check_record(record, context), uniqueness]))
    return outcomes
