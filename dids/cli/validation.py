"""``dids validate``'s work: read an extract, judge every record with the stream's own engine, summarise.

``validate_extract(extract, checks)`` reads the file in batches of columns
(``producers.extract.batches``), works out DIDS071 over the whole file, and judges the records with the
columnar engine (``streams.columnar``: cleansing, local-code mapping, every national rule and, with
``--derive``, the national columns). The result, ``ValidationRun``, holds one row per record in file
order: its summary is computed over the columns, and ``reports()`` gives a ``RecordReport`` per record
for ``--json``.
"""

from __future__ import annotations

import importlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from dids.kernel.errors import DidsError
from dids.kernel.items import ITEM_NAMES
from producers.extract.batches import record_batches
from producers.extract.reader import Extract
from streams.columnar import engine
from streams.columnar.cleansing import PY_WHITESPACE, RAW_COLUMNS
from streams.refdata.protocols import ReferenceData

PhaseProgress = Callable[[str, int, int], None]  # (phase, bytes read, total bytes)
PHASE_READING = "reading"
BATCH_ROWS = 50_000

# submitted identifiers the national derived record repeats: left out of the ``derived`` of a report
IDENTIFYING_COLUMNS = frozenset({"NHS_NUMBER", "DATE_OF_BIRTH", "POSTCODE", "RADIOLOGICAL_ACCESSION_NUMBER"})
_SITE, _ACCESSION = "site_code_imaging", "radiological_accession_num"


class ValidationSetupError(DidsError):
    """An optional part asked for (derivations, reference-data loaders) is not available in this build."""


@dataclass(frozen=True)
class Checks:
    """What ``validate_extract`` runs: the engine's options, S, the submitter and whether to derive."""

    options: engine.Options
    submission_time: datetime | None = None
    submitter: str | None = None
    derive: bool = False


def build_checks(
    submission_time: datetime | None,
    *,
    refdata_dir: str | Path | None = None,
    refdata: ReferenceData | None = None,
    submitter: str | None = None,
    derive: bool = False,
) -> Checks:
    """The checks of a run. ``refdata_dir`` is loaded with ``streams.refdata.loaders.load_reference_data``
    (its errors propagate: ``ReferenceDataError``). Local exam codes are mapped to NICIP before the rules
    when the reference data has a local-code table and ``submitter`` is known. ``derive`` adds the
    national columns to each report, less the submitted identifiers in ``IDENTIFYING_COLUMNS``."""
    if refdata_dir is not None:
        refdata = _optional("streams.refdata.loaders", "--refdata").load_reference_data(Path(refdata_dir))
    if derive:
        _optional("streams.columnar.derivations", "--derive")
    return Checks(engine.Options(refdata=refdata), submission_time, submitter, derive)


def _optional(module: str, feature: str):
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ValidationSetupError(f"{feature} is not available: {module} is not installed in this build") from exc


@dataclass(frozen=True)
class RecordReport:
    """One record's result: its row number (data records from 1), key, codes and derived values."""

    row: int
    site_code: str | None
    accession_number: str | None
    accepted: bool
    rejects: tuple[str, ...]
    warnings: tuple[str, ...]
    not_checked: tuple[str, ...]
    failures: tuple[tuple[str, tuple[str, ...]], ...]  # (code, fields) of every failed rule, in code order
    derived: dict[str, Any] | None = None

    @property
    def status(self) -> str:
        return "accepted" if self.accepted else "rejected"

    def as_json(self) -> dict[str, Any]:
        """The object ``dids validate --json`` prints for this record (``derived`` only when derived)."""
        data: dict[str, Any] = {
            "row": self.row,
            "site_code": self.site_code,
            "accession_number": self.accession_number,
            "status": self.status,
            "rejects": list(self.rejects),
            "warnings": list(self.warnings),
            "not_checked": list(self.not_checked),
        }
        if self.derived is not None:
            data["derived"] = dict(self.derived)
        return data


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


@dataclass(frozen=True)
class ValidationRun:
    """The judged records of one extract, one row each, in file order (module docstring)."""

    frame: pl.DataFrame
    derived_columns: tuple[str, ...] = ()
    blanks: tuple[tuple[str, int], ...] = ()  # (item, records with it blank after cleansing's trim), items in order

    @property
    def records(self) -> int:
        return self.frame.height

    def reports(self, frame: pl.DataFrame | None = None) -> Iterator[RecordReport]:
        for row in (self.frame if frame is None else frame).iter_rows(named=True):
            yield RecordReport(
                row["row"],
                row[_SITE],
                row[_ACCESSION],
                row["accepted"],
                tuple(row["rejects"]),
                tuple(row["warnings"]),
                tuple(row["not_checked"]),
                tuple((code, fields) for code, _, fields in engine.failures(row)),
                {name: row[name] for name in self.derived_columns} if self.derived_columns else None,
            )

    def summary(self, show_failures: int = 20) -> Summary:
        frame = self.frame
        summary = Summary(show_failures=show_failures, records=frame.height)
        counts = frame.select(
            pl.col("accepted").sum().alias("accepted"),
            (pl.col("warnings").list.len() > 0).sum().alias("with_warnings"),
        ).row(0, named=True)
        summary.accepted = int(counts["accepted"] or 0)
        summary.rejected = frame.height - summary.accepted
        summary.with_warnings = int(counts["with_warnings"] or 0)
        for column, counter in (
            ("rejects", summary.rejects_by_code),
            ("warnings", summary.warnings_by_code),
            ("not_checked", summary.not_checked),
        ):
            codes = frame.select(pl.col(column).explode().drop_nulls().value_counts())
            counter.update({code: count for code, count in (tuple(s.values()) for s in codes.to_series())})
        for code in [*summary.rejects_by_code, *summary.warnings_by_code]:
            variants = frame.get_column(f"r_{code}").drop_nulls().unique().to_list()
            summary.fields_by_code[code] = {
                name for index in variants if index >= 1 for name in engine.fields_of(code, index)
            }
        rejected = frame.filter(~pl.col("accepted")).head(show_failures)
        summary.failures = [
            (report.row, report.site_code, report.accession_number, report.failures)
            for report in self.reports(rejected)
        ]
        return summary


def validate_extract(
    extract: Extract, checks: Checks, *, on_progress: PhaseProgress | None = None, batch_rows: int = BATCH_ROWS
) -> ValidationRun:
    """Judge every record of ``extract`` (module docstring). Raises ``FileRejectError`` when the file is
    rejected as a whole, before anything is judged."""
    progress = None if on_progress is None else (lambda done, total: on_progress(PHASE_READING, done, total))
    batches = list(record_batches(extract, batch_rows, progress))
    raw = pl.concat([_with_rows(batch.first_row, batch.frame) for batch in batches], how="diagonal_relaxed")
    raw = raw.with_columns(
        _duplicated().alias("duplicate"),
        pl.lit(_epoch_ms(checks.submission_time), pl.Int64).alias("submitted_ms"),
        pl.lit(checks.submitter, pl.String).alias("submitter_org"),
    )
    blanks = _blanks(raw)
    judged, derived_columns = [], ()
    for start in range(0, raw.height, batch_rows):
        frame = engine.prepare(raw.slice(start, batch_rows), checks.options)
        out = engine.outcome(frame, checks.options)
        if checks.derive:
            from streams.columnar.derivations import derive, national

            derived = national(derive(frame, checks.options)).drop(IDENTIFYING_COLUMNS)
            derived_columns = tuple(derived.columns)
            out = pl.concat([out, derived], how="horizontal")
        keep = ["row", _SITE, _ACCESSION, "accepted", "rejects", "warnings", "not_checked"]
        judged.append(out.select(*keep, pl.col("^r_DIDS.*$"), *derived_columns))
    return ValidationRun(pl.concat(judged), derived_columns, blanks)


def _blanks(raw: pl.DataFrame) -> tuple[tuple[str, int], ...]:
    """How many records have each of the 18 items blank: missing, or only what cleansing trims."""
    counts = raw.select(
        (pl.col(name).str.strip_chars(PY_WHITESPACE).fill_null("").str.len_bytes() == 0).sum().alias(name)
        for name in ITEM_NAMES
    ).row(0)
    return tuple((name, int(n or 0)) for name, n in zip(ITEM_NAMES, counts, strict=True))


def _with_rows(first_row: int, frame: pl.DataFrame) -> pl.DataFrame:
    missing = [pl.lit(None, pl.String).alias(name) for name in RAW_COLUMNS if name not in frame.columns]
    return frame.with_columns(missing).with_columns(pl.int_range(first_row, first_row + frame.height).alias("row"))


def _duplicated() -> pl.Expr:
    """DIDS071 over the whole file: the trimmed site code and accession number, both present, occur more
    than once (``streams.rules.accession.find_duplicates``); a record with a blank part passes."""
    site = pl.col(_SITE).str.strip_chars(PY_WHITESPACE)
    accession = pl.col(_ACCESSION).str.strip_chars(PY_WHITESPACE)
    keyed = (site.str.len_bytes() > 0) & (accession.str.len_bytes() > 0)
    return (keyed & pl.struct(site.alias("s"), accession.alias("a")).is_duplicated()).fill_null(False)


def _epoch_ms(moment: datetime | None) -> int | None:
    if moment is None:
        return None
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    return int(utc.timestamp() * 1000)
