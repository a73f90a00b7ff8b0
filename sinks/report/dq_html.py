"""The data-quality report's HTML: one self-contained page for a trust's data-quality lead, pure (data in,
HTML out). It uses the monthly report's page style, table and plot helpers, so both look alike."""

from __future__ import annotations

from datetime import timezone

from dids.kernel.items import CSV_HEADER_BY_ITEM
from sinks.report.dq_data import REJECTED_LIMIT, DqReportData, RuleLine
from sinks.report.html import _CSS, _e, _empty, _int, _plot, _share, _table
from sinks.report.plots import _COLOURS, _hbar

NOT_BEFORE_SUBMISSION = "not available before submission"


def _counts_section(data: DqReportData) -> str:
    rows = [
        ("Records received", data.received),
        ("Accepted", data.accepted),
        ("Rejected", data.rejected),
        ("Accepted with warnings", data.with_warnings),
    ]
    table = _table(
        [("", False), ("Records", True), ("Share of received", True)],
        [[_e(label), _int(n), _share(data.share(n)) if i else ""] for i, (label, n) in enumerate(rows)],
    )
    out = ["<h2>Records</h2>", table]
    if data.file_reject is not None:
        line = "" if data.file_reject.line is None else f" at line {data.file_reject.line:,}"
        description = data.descriptions.get(data.file_reject.code, "")
        out.insert(
            1,
            f'<p class="banner">The whole file was rejected: {_e(data.file_reject.code)}{_e(line)} '
            f"({_e(description)}). No record of it was judged; correct the file and send it again.</p>",
        )
    return "\n".join(out)


def _trend_cells(data: DqReportData, rule: RuleLine) -> list[str]:
    if data.before_submission:
        return [_e(NOT_BEFORE_SUBMISSION)]
    return [_share(s) for s in rule.trend or (None,) * len(data.trend_months)]


def _rules_section(data: DqReportData) -> str:
    out = ["<h2>Rules that fired</h2>"]
    if not data.rules:
        out.append(_empty("No rule fired: every record passed every national rule that could be checked."))
        return "\n".join(out)
    rejecting = [(r.code, r.records) for r in data.rules if r.severity == "reject"]
    if rejecting:
        out.append(_plot(_hbar(rejecting, "Rejected records by rule", _COLOURS[6], "Rejected records by rule"), ""))
    header = [("Code", False), ("Severity", False), ("Rule", False), ("Records", True), ("Share", True)]
    header.append(("National share", not data.before_submission))
    if data.before_submission:
        header.append((f"Trend, last {len(data.trend_months) or 6} months", False))
    else:
        header += [(m, True) for m in data.trend_months]
    rows = []
    for r in data.rules:
        national = _e(NOT_BEFORE_SUBMISSION) if data.before_submission else _share(r.national_share)
        rows.append(
            [
                _e(r.code),
                _e(r.severity),
                _e(data.descriptions.get(r.code, "")),
                _int(r.records),
                _share(data.share(r.records)),
                national,
                *_trend_cells(data, r),
            ]
        )
    out.append(_table(header, rows))
    note = "Share: of the records received here. A record failing several rules counts once under each rule."
    note += (
        " Warnings are counted on every record of the file."
        if data.before_submission
        else " Warnings are counted on accepted current records."
    )
    if not data.before_submission:
        note += (
            f" National share: of every provider's records with a test date in {_e(data.month)}. The month columns "
            "are this scope's share in each of the last six months (– : no records that month)."
        )
    out.append(f'<p class="note">{note}</p>')
    return "\n".join(out)


def _blanks_section(data: DqReportData) -> str:
    out = ["<h2>Completeness of each item</h2>"]
    if not data.blanks or not data.blanks[0].records:
        out.append(_empty("No records to measure completeness on."))
        return "\n".join(out)
    rows = [
        [_e(b.item + (" †" if b.derived else "")), _int(b.blank), _share(b.blank / b.records if b.records else None)]
        for b in data.blanks
    ]
    out.append(_table([("Item", False), ("Blank", True), ("Share blank", True)], rows))
    note = f"Over {_e(data.blanks_basis)}."
    if any(b.derived for b in data.blanks):
        note += (
            " †: the warehouse keeps only what is derived from this item (age band, LSOA, gender), so a value "
            "that could not be used counts as blank too; restricted procedures keep no LSOA or practice."
        )
    out.append(f'<p class="note">{note}</p>')
    return "\n".join(out)


def _rejected_section(data: DqReportData) -> str:
    out = ["<h2>Rejected records</h2>"]
    if not data.rejected_records:
        out.append(_empty("No rejected records."))
        return "\n".join(out)
    rows = []
    for r in data.rejected_records:
        failures = "; ".join(
            f"{code} ({severity}): {', '.join(CSV_HEADER_BY_ITEM.get(f, f) for f in fields) or '–'}"
            for code, severity, fields in r.failures
        )
        rows.append([_e(r.site_code or "–"), _e(r.accession_number or "–"), _int(r.row_number), _e(failures)])
    header = [("Site", False), ("Accession number", False), ("Record in file", True), ("Failures (code: items)", False)]
    shown = len(data.rejected_records)
    if data.rejected > shown:
        out.append(f'<p class="note">The first {shown:,} of {data.rejected:,} rejected records.</p>')
    out.append(_table(header, rows))
    out.append(
        '<p class="note">Record in file: the data record\'s number in its extract (the first record is 1; '
        "with a header row it is on that line + 1); – for a real-time (HL7) event. Item names only: the "
        "report holds no submitted patient value.</p>"
    )
    return "\n".join(out)


def build_dq_report(data: DqReportData) -> str:
    """The whole data-quality report as one HTML document (no scripts, no external references)."""
    generated = data.generated_at.astimezone(timezone.utc) if data.generated_at.tzinfo else data.generated_at
    details = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in data.details)
    origin = f" from {_e(data.origin)}" if data.origin else ""
    when = "Before submission: " if data.before_submission else ""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>DIDS data-quality report: {_e(data.subject)}</title><style>{_CSS}</style></head><body>",
        f"<h1>DIDS data quality: {_e(data.subject)}</h1>",
        f'<p class="meta">{when}generated {generated:%Y-%m-%d %H:%M} UTC{origin}.</p>',
        f"<table>{details}</table>" if details else "",
        _counts_section(data),
        _rules_section(data),
        _blanks_section(data),
        _rejected_section(data),
        "<h2>Notes</h2>",
        *(f'<p class="note">{_e(n)}</p>' for n in data.notes),
        '<p class="note">Rule wording and severities: DIDS-RULES (the national data-quality rules). Rejected '
        "records are left out of the national counts; correct them in the RIS and send them again.</p>",
        "</body></html>",
    ]
    return "\n".join(p for p in parts if p) + "\n"


__all__ = ["NOT_BEFORE_SUBMISSION", "REJECTED_LIMIT", "build_dq_report"]
