"""Pre-check an extract offline: the stream's cleansing and national rules over a whole file, streamed.

``validate_extract(extract, context)`` yields one ``RecordReport`` per record, in file order. It runs
exactly what the stream processors run: ``streams.cleanse.cleanse`` and the registry's record rules
(``streams.rules.check_record``), plus DIDS071 over the whole file, combined by ``Outcome.from_results``
as ``streams.rules.validate_submission`` does. ``validate_submission`` itself needs every record in
memory, so the file is instead read more than once (``Extract.records`` reopens it):

1. **Keys.** Every record's DIDS071 key (site code, accession number, trimmed, both present) marks a
   slot of a bitmap by its ``hash()``; slots marked twice are noted in a second bitmap. Any file-level
   reject (DIDS075/076) surfaces here, before a single record is reported.
2. **Exact duplicates** (only when some slot was marked twice): the exact keys in those slots are
   counted, so a hash collision never makes a false DIDS071.
3. **Rules**, record by record, each knowing whether its key is a duplicate.

Memory is two bitmaps of a few MB (``duplicate_keys``) plus the keys of pass 2, instead of one cleansed
record per row.
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
from producers.extract.reader import Extract
from streams.cleanse import CleansedRecord, cleanse
from streams.rules import RULES, Context, Fail, Outcome, Pass, check_record
from streams.rules.accession import UNIQUENESS_FIELDS
from streams.rules.context import context_for

UNIQUENESS_CODE = "DIDS071"
PhaseProgress = Callable[[str, int, int], None]  # (phase, bytes read, total bytes)
Deriver = Callable[[CleansedRecord, Context], Mapping[str, Any]]
Preparer = Callable[[CleansedRecord], CleansedRecord]

PHASE_KEYS = "checking structure and keys"
PHASE_DUPLICATES = "confirming duplicates"
PHASE_RULES = "validating"
_MIN_SLOTS, _MAX_SLOTS = 1 << 16, 1 << 31  # 8 KB .. 256 MB per bitmap

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


def uniqueness_key(raw: Mapping[str, str | None]) -> tuple[str, str] | None:
    """The DIDS071 key exactly as ``accession.find_duplicates`` forms it after cleansing; None if a part is blank."""
    site, accession = raw.get("site_code_imaging"), raw.get("radiological_accession_num")
    site, accession = (site or "").strip(), (accession or "").strip()
    if not site or not accession:
        return None
    return site, accession


def duplicate_keys(
    extract: Extract, on_progress: PhaseProgress | None = None, *, slots: int | None = None
) -> frozenset[tuple[str, str]]:
    """Passes 1 and 2: the keys occurring more than once in the file. Raises ``FileRejectError``.

    Pass 1 marks each key's ``hash()`` slot in a bitmap of ``slots`` bits (a power of two; by default
    about 16 per record the file size allows, so a few MB even for millions of rows) and a second
    bitmap for slots hit twice. Pass 2, only when some slot was hit twice, counts the exact keys that
    fall in those slots: true duplicates plus a few percent of bystanders, never a false positive.
    """
    slots = slots or _slots_for(extract.size)
    mask = slots - 1
    seen, repeated = bytearray((slots + 7) // 8), bytearray((slots + 7) // 8)
    found = False
    for _, raw in extract.records(_phase(on_progress, PHASE_KEYS)):
        key = uniqueness_key(raw)
        if key is None:
            continue
        slot = hash(key) & mask
        byte, bit = slot >> 3, 1 << (slot & 7)
        if seen[byte] & bit:
            repeated[byte] |= bit
            found = True
        else:
            seen[byte] |= bit
    del seen
    if not found:
        return frozenset()
    counts: Counter[tuple[str, str]] = Counter()
    for _, raw in extract.records(_phase(on_progress, PHASE_DUPLICATES)):
        key = uniqueness_key(raw)
        if key is not None:
            slot = hash(key) & mask
            if repeated[slot >> 3] & (1 << (slot & 7)):
                counts[key] += 1
    return frozenset(key for key, count in counts.items() if count > 1)


def _slots_for(size: int) -> int:
    """A power of two near 16 bits per record, taking 100 bytes a record (CSV rows are longer)."""
    wanted = 16 * (size // 100 + 1)
    return min(max(1 << (wanted - 1).bit_length(), _MIN_SLOTS), _MAX_SLOTS)


def check(record: CleansedRecord, context: Context, *, duplicate: bool) -> Outcome:
    """Every record rule plus DIDS071, as ``validate_submission`` combines them for one record."""
    uniqueness = (
        Fail(UNIQUENESS_CODE, RULES[UNIQUENESS_CODE].severity, UNIQUENESS_FIELDS)
        if duplicate
        else Pass(UNIQUENESS_CODE)
    )
    return Outcome.from_results([*check_record(record, context), uniqueness])


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
    for row, raw in extract.records(_phase(on_progress, PHASE_RULES)):
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


def _phase(on_progress: PhaseProgress | None, phase: str) -> Callable[[int, int], None] | None:
    if on_progress is None:
        return None
    return lambda done, total: on_progress(phase, done, total)
