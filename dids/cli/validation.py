"""``dids validate``'s work: read an extract, run the stream's own checks over every record, summarise.

``validate_extract(extract, context)`` yields one ``RecordReport`` per record, in file order. It runs
what the stream processors run: ``streams.cleanse.cleanse`` and ``streams.rules.check`` (every record
rule, plus DIDS071 over the whole file). The file is read more than once (``Extract.records`` reopens
it): first for the duplicate keys (``producers.extract.duplicates``), then record by record, each
knowing whether its key is a duplicate; memory stays a few MB whatever the file's size.
"""

from __future__ import annotations

import importlib
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from dids.kernel.errors import DidsError
from producers.extract.duplicates import PhaseProgress, duplicate_keys, phase_progress, uniqueness_key
from producers.extract.reader import Extract
from streams.cleanse import CleansedRecord, cleanse
from streams.rules import Context, Outcome, check
from streams.rules.context import context_for

Deriver = Callable[[CleansedRecord, Context], Mapping[str, Any]]
Preparer = Callable[[CleansedRecord], CleansedRecord]

PHASE_RULES = "validating"

# submitted identifiers the national derived record repeats: left out of the ``derived`` of a report
IDENTIFYING_COLUMNS = frozenset({"NHS_NUMBER", "DATE_OF_BIRTH", "POSTCODE", "RADIOLOGICAL_ACCESSION_NUMBER"})


class ValidationSetupError(DidsError):
    """An optional part asked for (derivations, reference-data loaders) is not available in this build."""


@dataclass(frozen=True)
class Checks:
    """What ``validate_extract`` runs besides the rules: the rules' context, local-code mapping, derivations."""

    context: Context
    prepare: Preparer | None = None
    derive: Deriver | None = None


def build_checks(
    submission_time: datetime | None,
    *,
    refdata_dir: str | Path | None = None,
    submitter: str | None = None,
    derive: bool = False,
) -> Checks:
    """The stream's order of work (``streams.derive``): map local codes, validate, derive.

    ``refdata_dir`` is loaded with ``streams.refdata.loaders.load_reference_data`` (its errors propagate:
    ``ReferenceDataError``). Local exam codes are mapped to NICIP before validation only when the
    reference data has a local-code table and ``submitter`` (the submitting organisation) is known.
    ``derive`` adds ``streams.derive.derive``'s national columns to each report, less the submitted
    identifiers in ``IDENTIFYING_COLUMNS``. Both modules are imported only when needed.
    """
    refdata = None
    if refdata_dir is not None:
        refdata = _optional("streams.refdata.loaders", "--refdata").load_reference_data(Path(refdata_dir))
    context = Context(submission_time=submission_time, refdata=refdata)
    needs_mapping = refdata is not None and getattr(refdata, "local_codes", None) is not None and submitter
    if not (derive or needs_mapping):
        return Checks(context)
    derivations = _optional("streams.derive", "--derive" if derive else "local code mapping")
    derive_context = derivations.DeriveContext(refdata=refdata, submitter_org=submitter, grace=context.grace)

    def prepare(record: CleansedRecord) -> CleansedRecord:
        return derivations.map_local_code(record, derive_context).record

    def derived(record: CleansedRecord, _: Context) -> Mapping[str, Any]:
        columns = derivations.derive(record, derive_context)
        return {name: value for name, value in columns.items() if name not in IDENTIFYING_COLUMNS}

    return Checks(context, prepare if needs_mapping else None, derived if derive else None)


def _optional(module: str, feature: str):
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ValidationSetupError(f"{feature} is not available: {module} is not installed in this build") from exc


@dataclass(frozen=True)
class RecordReport:
    """One record's result: its row number (data records from 1), key, outcome and derived values."""

    row: int
    site_code: str | None
    accession_number: str | None
    outcome: Outcome
    derived: Mapping[str, Any] | None = None

    @property
    def status(self) -> str:
        return "accepted" if self.outcome.accepted else "rejected"

    def as_json(self) -> dict[str, Any]:
        """The object ``dids validate --json`` prints for this record (``derived`` only when derived)."""
        data: dict[str, Any] = {
            "row": self.row,
            "site_code": self.site_code,
            "accession_number": self.accession_number,
            "status": self.status,
            "rejects": list(self.outcome.rejects),
            "warnings": list(self.outcome.warnings),
            "not_checked": list(self.outcome.not_checked),
        }
        if self.derived is not None:
            data["derived"] = dict(self.derived)
        return data


def validate_extract(
    extract: Extract,
    context: Context,
    *,
    derive: Deriver | None = None,
    prepare: Preparer | None = None,
    on_progress: PhaseProgress | None = None,
) -> Iterator[RecordReport]:
    """Yield a ``RecordReport`` per record, in file order (module docstring).

    ``prepare(cleansed)``, when given, runs before the rules (local-code mapping); ``derive(cleansed,
    context)`` adds derived values to each report (see ``build_checks``).
    Raises ``FileRejectError`` before yielding anything when the file is rejected as a whole.
    """
    duplicates = duplicate_keys(extract, on_progress)
    for row, raw in extract.records(phase_progress(on_progress, PHASE_RULES)):
        record = cleanse(raw)
        if prepare is not None:
            record = prepare(record)
        key = uniqueness_key(raw)
        # v2.0 records check code validity at their procedure end timestamp (streams.rules.context)
        record_context = _for_record(raw, context)
        outcome = check(record, record_context, duplicate=key is not None and key in duplicates)
        derived = None if derive is None else derive(record, context)
        yield RecordReport(row, record.site_code_imaging, record.radiological_accession_num, outcome, derived)


def _for_record(raw: Mapping[str, str | None], context: Context) -> Context:
    if not raw.get("coded_procedure_end_timestamp"):
        return context
    return context_for(
        raw,
        submission_time=context.submission_time,
        refdata=context.refdata,
        reference_month_formula=context.reference_month_formula,
    )


@dataclass
class Summary:
    """Counts over a validation run, for the human-readable report. Holds codes and keys, no patient data."""

    show_failures: int = 20
    records: int = 0
    accepted: int = 0
    rejected: int = 0
    with_warnings: int = 0
    rejects_by_code: Counter[str] = field(default_factory=Counter)
    warnings_by_code: Counter[str] = field(default_factory=Counter)
    not_checked: Counter[str] = field(default_factory=Counter)
    fields_by_code: dict[str, set[str]] = field(default_factory=dict)
    failures: list[tuple[int, str | None, str | None, tuple[tuple[str, tuple[str, ...]], ...]]] = field(
        default_factory=list
    )

    def add(self, report: RecordReport) -> None:
        outcome = report.outcome
        self.records += 1
        if outcome.accepted:
            self.accepted += 1
        else:
            self.rejected += 1
        if outcome.warnings:
            self.with_warnings += 1
        self.rejects_by_code.update(outcome.rejects)
        self.warnings_by_code.update(outcome.warnings)
        self.not_checked.update(outcome.not_checked)
        for fail in outcome.failures:
            self.fields_by_code.setdefault(fail.code, set()).update(fail.fields)
        if not outcome.accepted and len(self.failures) < self.show_failures:
            codes = tuple((fail.code, fail.fields) for fail in outcome.failures)
            self.failures.append((report.row, report.site_code, report.accession_number, codes))
