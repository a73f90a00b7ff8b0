"""``dids validate --report``: a validation run in the data-quality report's shape (``sinks.report``), so a
file is seen before it is sent as the warehouse will show it after. No national share or trend exists yet.

It takes only counts, rule codes, item names, site codes, accession numbers and record numbers from the
run: never a submitted patient value.
"""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

from dids.cli.validation import ValidationRun
from dids.kernel.items import CSV_HEADER_BY_ITEM
from producers.extract.errors import FileRejectError
from producers.extract.reader import Extract
from sinks.report.dq_data import (
    REJECTED_LIMIT,
    TREND_MONTHS,
    DqReportData,
    FileReject,
    ItemBlanks,
    RejectedRecord,
    RuleLine,
)
from streams.rules import RULES, Severity

_SEVERITY = {Severity.REJECT_RECORD: "reject", Severity.WARNING: "warning", Severity.REJECT_FILE: "file reject"}
NOTE = (
    "Checked before submission by `dids validate`, with the stream's own cleansing and national rules: the "
    "national share and the trend come from the warehouse once the file is sent (`dids dq-report --submission ID`)."
)


def severity(code: str) -> str:
    rule = RULES.get(code)
    return "reject" if rule is None else _SEVERITY[rule.severity]


def _new(file_name: str, now: datetime | None) -> DqReportData:
    return DqReportData(
        subject=f"file {file_name}",
        generated_at=now or datetime.now(UTC),
        before_submission=True,
        origin="`dids validate` (no warehouse)",
        trend_months=[""] * TREND_MONTHS,
        notes=[NOTE],
    )


def report_of_run(extract: Extract, run: ValidationRun, *, now: datetime | None = None) -> DqReportData:
    """The report of a judged file."""
    summary = run.summary(0)
    data = _new(extract.path.name, now)
    data.details = [
        ("File", extract.path.name),
        ("Format", extract.format),
        ("Records in the file", f"{run.records:,}"),
    ]
    data.received, data.accepted, data.rejected = summary.records, summary.accepted, summary.rejected
    data.with_warnings = summary.with_warnings
    lines = [RuleLine(code, "reject", n) for code, n in summary.rejects_by_code.items()]
    lines += [RuleLine(code, "warning", n) for code, n in summary.warnings_by_code.items()]
    data.rules = sorted(lines, key=lambda r: (r.severity != "reject", -r.records, r.code))
    data.blanks = [ItemBlanks(CSV_HEADER_BY_ITEM[item], n, run.records) for item, n in run.blanks]
    data.blanks_basis = f"all {run.records:,} records of the file, as submitted (blank after trimming spaces)"
    rejected = run.frame.filter(~pl.col("accepted")).head(REJECTED_LIMIT)
    data.rejected_records = [
        RejectedRecord(
            r.site_code,
            r.accession_number,
            r.row,
            tuple((code, severity(code), tuple(fields)) for code, fields in r.failures),
        )
        for r in run.reports(rejected)
    ]
    return data


def report_of_file_reject(path_name: str, error: FileRejectError, *, now: datetime | None = None) -> DqReportData:
    """The report of a file rejected as a whole (DIDS075/076): no record was judged."""
    data = _new(path_name, now)
    data.details = [("File", path_name)]
    data.file_reject = FileReject(error.code, error.line)
    return data
