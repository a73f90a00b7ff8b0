"""The report's HTML: one self-contained page (inline CSS and SVG, no scripts, no external resources),
pure (data in, HTML out), so the layout is tested without ClickHouse."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import timezone
from html import escape

from sinks.report.data import ReportData, activity_table, check_month, top_providers
from sinks.report.plots import plot_activity, plot_rejects_by_provider, plot_rejects_by_rule, plot_waiting_times
from sinks.report.utilisation_html import utilisation_section

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Arial,sans-serif;color:#212b32;margin:2rem auto;max-width:72rem;
padding:0 1rem;line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.25rem;margin-top:2.2rem;border-bottom:2px solid #005eb8}
h3{font-size:1rem;margin-top:1.4rem}.meta{color:#4c6272;margin-top:0}.note{color:#4c6272;font-size:.9rem}
.empty{background:#f0f4f5;border-left:4px solid #768692;padding:.6rem 1rem;color:#4c6272}
.banner{background:#fff9c4;border-left:4px solid #ffeb3b;padding:.6rem 1rem}
.internal{background:#fde8e8;border-left-color:#d5281b}
table{border-collapse:collapse;font-size:.85rem;margin:.6rem 0}
th,td{padding:.25rem .6rem;border-bottom:1px solid #d8dde0}
th{background:#f0f4f5;text-align:left}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
tr.total td{font-weight:600}.scroll{overflow-x:auto}svg{max-width:100%;height:auto}
code{background:#f0f4f5;padding:0 .2rem}
.side{display:flex;flex-wrap:wrap;gap:0 3rem;align-items:flex-start}
"""


def _e(value) -> str:
    return escape("" if value is None else str(value))


SUPPRESSED = "*"  # what a count or statistic hidden by disclosure control shows as


def _int(value) -> str:
    return "–" if value is None else f"{int(value):,}"


def _count(value) -> str:
    """A count of the statistics views: None there is a count disclosure control hid."""
    return SUPPRESSED if value is None else f"{int(value):,}"


def _days(value, hidden: bool = False) -> str:
    """Days; ``hidden``: None is a statistic disclosure control hid, not one without data."""
    if value is None and hidden:
        return SUPPRESSED
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{float(value):,.2f}".rstrip("0").rstrip(".")


def _share(value, hidden: bool = False) -> str:
    if value is None and hidden:
        return SUPPRESSED
    return "–" if value is None else f"{100 * float(value):.1f}%"


def _hidden(data: ReportData, n) -> bool:
    """A statistic over ``n`` intervals is hidden, not missing, when its count is hidden or not zero."""
    return data.disclosure_control and n != 0


def _table(header: list[tuple[str, bool]], rows: list[list[str]], *, classes: list[str] | None = None) -> str:
    """header: (label, numeric); cells are already-escaped HTML."""
    head = "".join(f'<th class="n">{_e(h)}</th>' if num else f"<th>{_e(h)}</th>" for h, num in header)
    body = []
    for i, row in enumerate(rows):
        cls = f' class="{classes[i]}"' if classes and classes[i] else ""
        cells = "".join(
            f'<td class="n">{c}</td>' if num else f"<td>{c}</td>" for c, (_, num) in zip(row, header, strict=True)
        )
        body.append(f"<tr{cls}>{cells}</tr>")
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'


def _empty(text: str) -> str:
    return f'<p class="empty">{_e(text)}</p>'


def _plot(svg: str | None, empty: str) -> str:
    return f"<figure>{svg}</figure>" if svg else _empty(empty)


def _activity_section(data: ReportData) -> str:
    months, modalities, counts = activity_table(data)
    out = ["<h2>Imaging activity</h2>", _plot(plot_activity(data), f"No data for the 13 months to {data.month}.")]
    if modalities:
        present = {m for m, _ in counts}
        header = [("Month", False)] + [(mod, True) for mod in modalities] + [("Total", True)]
        rows = []
        for m in months:
            if m not in present:
                rows.append([_e(m)] + ["–"] * (len(modalities) + 1))
                continue
            total = (
                counts[(m, "Total")] if (m, "Total") in counts else sum(counts.get((m, mod)) or 0 for mod in modalities)
            )
            rows.append([_e(m)] + [_count(counts.get((m, mod), 0)) for mod in modalities] + [_count(total)])
        out.append("<h3>Tests by month and modality</h3>")
        out.append(_table(header, rows))
        out.append(f'<p class="note">– : no data for that month.{_suppressed_note(data)}</p>')
    return "\n".join(out)


def _waiting_section(data: ReportData) -> str:
    out = [
        "<h2>Patient test times</h2>",
        _plot(plot_waiting_times(data), f"No waiting-time data for {data.month}."),
    ]
    if data.waiting_times:
        header = [
            ("Modality", False),
            ("Tests", True),
            ("Request→test n", True),
            ("Median", True),
            ("P90", True),
            ("P95", True),
            ("Test→report n", True),
            ("Median", True),
            ("P90", True),
            ("P95", True),
        ]
        rows = []
        for w in data.waiting_times:
            request, report = _hidden(data, w.request_to_test_n), _hidden(data, w.test_to_report_n)
            rows.append(
                [
                    _e(w.modality),
                    _count(w.tests),
                    _count(w.request_to_test_n),
                    _days(w.request_to_test_median, request),
                    _days(w.request_to_test_p90, request),
                    _days(w.request_to_test_p95, request),
                    _count(w.test_to_report_n),
                    _days(w.test_to_report_median, report),
                    _days(w.test_to_report_p90, report),
                    _days(w.test_to_report_p95, report),
                ]
            )
        out.append(_table(header, rows))
        out.append(
            '<p class="note">Days. Percentiles interpolate between ranks (as PERCENTILE.INC); records without '
            f"both dates are left out of each interval (n).{_suppressed_note(data)}</p>"
        )
    return "\n".join(out)


def _cancer_section(data: ReportData) -> str:
    out = ["<h2>Tests that could contribute to early cancer diagnosis</h2>"]
    if not data.early_cancer:
        out.append(_empty(f"No early-cancer-diagnosis tests for {data.month}."))
        return "\n".join(out)
    header = [
        ("Test group", False),
        ("GP direct access", True),
        ("All referrals", True),
        ("GP direct share", True),
        ("Median request→test, GP direct (days)", True),
        ("Median request→test, all (days)", True),
    ]
    rows = [
        [
            _e(c.test_group),
            _count(c.gp_direct_tests),
            _count(c.all_tests),
            _share(c.gp_direct_share, _hidden(data, c.gp_direct_tests)),
            _days(c.gp_direct_request_to_test_median, _hidden(data, c.gp_direct_tests)),
            _days(c.all_request_to_test_median, _hidden(data, c.all_tests)),
        ]
        for c in data.early_cancer
    ]
    out.append(_table(header, rows))
    out.append(f'<p class="note">GP direct access: patient source setting 04.{_suppressed_note(data)}</p>')
    return "\n".join(out)


def _providers_section(data: ReportData) -> str:
    out = ["<h2>Providers</h2>"]
    ranked = top_providers(data.providers, totals=data.provider_totals)
    if not ranked:
        out.append(_empty(f"No provider activity for {data.month}."))
        return "\n".join(out)
    volume: dict[str, int] = defaultdict(int)
    for r in data.providers:
        volume[r.modality] += r.tests or 0
    # the activity table's column order, then anything it lacks
    window_order = [mod for mod in activity_table(data)[1] if mod in volume]
    modalities = window_order + sorted(set(volume) - set(window_order), key=lambda mod: (-volume[mod], mod))
    header = [("Region", False), ("Provider", False), ("Name", False), ("Tests", True)]
    header += [(mod, True) for mod in modalities]
    rows = [
        [_e(region), _e(code), _e(name), _count(total)] + [_count(mods.get(mod, 0)) for mod in modalities]
        for region, code, name, total, mods in ranked
    ]
    providers = len({r.provider_code for r in data.providers})
    shown = f"top {len(ranked)} of {providers}" if providers > len(ranked) else f"all {providers}"
    out.append(f"<h3>Tests by provider and modality, {_e(data.month)} ({shown} providers)</h3>")
    out.append(_table(header, rows))
    if data.disclosure_control:
        out.append(f'<p class="note">{_suppressed_note(data).strip()}</p>')
    return "\n".join(out)


def _suppressed_note(data: ReportData) -> str:
    if not data.disclosure_control:
        return ""
    return (
        f" {SUPPRESSED} : hidden by disclosure control (a small count, a cell that would give one back by "
        "subtraction, or a statistic of either)."
    )


def _disclosure_banner(data: ReportData) -> str:
    if not data.disclosure_control:
        return (
            '<p class="banner internal"><strong>INTERNAL USE ONLY: no disclosure control.</strong> This page '
            "shows the raw statistics (<code>stats_*</code> views): small counts as they are, which can identify "
            "patients. Do not publish it or share it outside the organisation; the published report is "
            "<code>dids report</code> without <code>--no-disclosure-control</code>.</p>"
        )
    return (
        f'<p class="note">Disclosure control (the <code>pub_*</code> views): {_e(data.disclosure_rules)}; '
        f"{SUPPRESSED} marks a hidden count or statistic.</p>"
    )


def _quality_section(data: ReportData) -> str:
    out = [
        "<h2>Data quality</h2>",
        '<p class="note">Live data whatever the report\'s source (rejects and warnings are not snapshotted); '
        "month of the test date, so records rejected for a missing or invalid test date are in no month.</p>",
        _plot(plot_rejects_by_rule(data), f"No rejected records for {data.month}."),
        _plot(plot_rejects_by_provider(data), f"No rejected records by provider for {data.month}."),
    ]
    rejects, warnings = dict(data.rejects_by_rule), dict(data.warnings_by_rule)
    rules = sorted(set(rejects) | set(warnings), key=lambda r: (-rejects.get(r, 0), -warnings.get(r, 0), r))
    tables = []
    if rules:
        header = [("Rule", False), ("Rejected records", True), ("Warnings on current records", True)]
        rows = [[_e(r), _int(rejects.get(r, 0)), _int(warnings.get(r, 0))] for r in rules]
        tables.append(f"<div><h3>By rule</h3>{_table(header, rows)}</div>")
    if data.rejects_by_provider:
        header = [("Provider", False), ("Rejected records", True)]
        rows = [[_e(p or "(no provider)"), _int(n)] for p, n in data.rejects_by_provider]
        tables.append(f"<div><h3>Rejected records by provider</h3>{_table(header, rows)}</div>")
    if tables:
        out.append(f'<div class="side">{"".join(tables)}</div>')
        out.append(
            '<p class="note">A record failing several rules counts once under each rule, and once for its provider.</p>'
        )
    return "\n".join(out)


def _source_banner(data: ReportData) -> str:
    if data.source == "live":
        return '<p class="note">Source: live current records (they change as late and corrected data arrive).</p>'
    if data.snapshot is None:
        return (
            f'<p class="banner">No {_e(data.source)} snapshot of {_e(data.month)} has been taken: '
            f"<code>dids snapshot --month {_e(data.month)} --kind {_e(data.source)}</code>. Earlier months of "
            "the window show their own snapshots where taken.</p>"
        )
    s = data.snapshot
    return (
        f'<p class="note">Source: the {_e(data.source)} snapshot of {_e(data.month)}, taken '
        f"{s.taken_at:%Y-%m-%d %H:%M} UTC (cut-off {s.cutoff:%Y-%m-%d %H:%M} UTC, {s.records:,} records). "
        "Each earlier month of the window shows its own snapshot of that kind.</p>"
    )


def _disclosure_note(data: ReportData) -> str:
    if not data.disclosure_control:
        return "No disclosure control is applied: small counts are shown as they are (internal use only)."
    return (
        "The statistics are disclosure-controlled; the national total of each month is exact. The data-quality "
        "section is not (rule and provider counts of rejected and warned records, for the submitters to act on): "
        "check it before publishing."
    )


def build_report(data: ReportData) -> str:
    """The whole report as one HTML document (no scripts, no external references)."""
    check_month(data.month)
    generated = data.generated_at.astimezone(timezone.utc) if data.generated_at.tzinfo else data.generated_at
    month_total = sum(n for m, mod, n in data.activity if m == data.month and mod == "Total")
    rejected = sum(n for _, n in data.rejects_by_provider)
    title = f"DIDS report {data.month} ({data.source})" + ("" if data.disclosure_control else " INTERNAL USE ONLY")
    db = f" from database {_e(data.database)}" if data.database else ""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>Diagnostic Imaging Dataset: {_e(data.month)}, {_e(data.source)}</h1>",
        f'<p class="meta">Generated {generated:%Y-%m-%d %H:%M} UTC{db}. '
        f"{month_total:,} tests in {_e(data.month)}; {rejected:,} rejected records.</p>",
        _disclosure_banner(data),
        _source_banner(data),
        _activity_section(data),
        _waiting_section(data),
        _cancer_section(data),
        _providers_section(data),
        utilisation_section(data.utilisation, data.month, data.disclosure_control),
        _quality_section(data),
        '<h2>Notes</h2><p class="note">Counts are of records (tests), not patients, by the provider and the month '
        f"of the test date (DIDS-SPEC 9.5). {_disclosure_note(data)} Modality 'Unknown': no modality could be "
        "derived.</p>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"
