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

UNIQUENESS_CODE = "DIDS071"  # the one rule that needs the whole submission
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


def check(record: CleansedRecord, context: Context, *, duplicate: bool | None = None) -> Outcome:
    """The one check of a cleansed record, for the stream and ``dids validate`` alike: every record rule,
    plus DIDS071 when the record came in a submission (``duplicate``: its site code and accession number
    occur more than once in it; None: not part of a submission, so there is nothing to be unique in)."""
    results = check_record(record, context)
    if duplicate is not None:
        severity = RULES[UNIQUENESS_CODE].severity
        results.append(Fail(UNIQUENESS_CODE, severity, UNIQUENESS_FIELDS) if duplicate else Pass(UNIQUENESS_CODE))
    return Outcome.from_results(results)


def validate_submission(records: Sequence[CleansedRecord], context: Context) -> list[Outcome]:
    """Validate a whole submission held in memory: ``check`` of each record, DIDS071 computed over every
    record before anything is dropped (each member of a duplicate group fails it; a record with either
    key part blank passes it, DIDS067/070 reject that record), in input order."""
    duplicates = find_duplicates(records)
    return [check(record, context, duplicate=index in duplicates) for index, record in enumerate(records)]
