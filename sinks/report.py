"""The analysts' monthly report: one self-contained HTML file (inline CSS and SVG, no scripts, no
external resources) built from the statistics views of DIDS-SPEC 9 and the data-quality views.

``fetch_report_data`` runs the queries; ``build_report`` is pure (data in, HTML out), so the layout is
tested without ClickHouse. Plots are drawn with matplotlib (no pyplot, no global state) as SVG text.
"""

from __future__ import annotations

import io
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from html import escape

from dids.kernel.errors import DidsError
from sinks import snapshots

SOURCES = ("live", "provisional", "final")
WINDOW_MONTHS = 13  # the monthly release's rolling window (DIDS-SPEC 9.1)
TOP_PROVIDERS = 25
TOP_REJECTING_PROVIDERS = 20


class ReportError(DidsError):
    """The report cannot be made (bad month or source)."""


def check_month(month: str) -> str:
    """The snapshots' month check, raising the report's own error."""
    try:
        return snapshots.check_month(month)
    except snapshots.SnapshotError as exc:
        raise ReportError(str(exc)) from exc


def window(month: str, months: int = WINDOW_MONTHS) -> list[str]:
    """The ``months`` months ending at ``month``, oldest first."""
    year, mon = (int(x) for x in check_month(month).split("-"))
    index = year * 12 + mon - 1
    return [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(index - months + 1, index + 1)]


@dataclass(frozen=True)
class WaitingTimes:
    modality: str
    tests: int
    request_to_test_n: int
    request_to_test_median: float | None
    request_to_test_p90: float | None
    request_to_test_p95: float | None
    test_to_report_n: int
    test_to_report_median: float | None
    test_to_report_p90: float | None
    test_to_report_p95: float | None


@dataclass(frozen=True)
class EarlyCancer:
    test_group: str
    gp_direct_tests: int
    all_tests: int
    gp_direct_share: float | None
    gp_direct_request_to_test_median: float | None
    all_request_to_test_median: float | None


@dataclass(frozen=True)
class ProviderModality:
    region_code: str | None
    provider_code: str | None
    provider_name: str | None
    modality: str
    tests: int


@dataclass(frozen=True)
class SnapshotInfo:
    taken_at: datetime
    cutoff: datetime
    records: int


@dataclass
class ReportData:
    """Everything the report shows. ``activity`` covers the 13-month window and includes the views'
    'Total' rows; every other list is for ``month`` alone."""

    month: str
    source: str
    generated_at: datetime
    database: str = ""
    activity: list[tuple[str, str, int]] = field(default_factory=list)  # (month, modality, tests)
    waiting_times: list[WaitingTimes] = field(default_factory=list)
    early_cancer: list[EarlyCancer] = field(default_factory=list)
    providers: list[ProviderModality] = field(default_factory=list)
    rejects_by_rule: list[tuple[str, int]] = field(default_factory=list)  # (rule, records)
    rejects_by_provider: list[tuple[str | None, int]] = field(default_factory=list)  # (provider, records)
    warnings_by_rule: list[tuple[str, int]] = field(default_factory=list)
    snapshot: SnapshotInfo | None = None  # the snapshot read, for source provisional / final


# --------------------------------------------------------------------------------------------------
# Queries


def fetch_report_data(client, month: str, source: str, *, now: datetime | None = None) -> ReportData:
    """Read the report's numbers from the statistics views (client: ``sinks.clickhouse.connect``)."""
    check_month(month)
    if source not in SOURCES:
        raise ReportError(f"source {source!r} is not one of {', '.join(SOURCES)}")
    months = window(month)
    p = {"s": source, "m": month, "first": months[0], "last": months[-1]}

    def rows(sql: str):
        return client.query(sql, parameters=p).result_rows

    data = ReportData(
        month=month,
        source=source,
        generated_at=now or datetime.now(timezone.utc),
        database=getattr(client, "database", "") or "",
    )
    data.activity = [
        (m, mod, int(n))
        for m, mod, n in rows(
            "SELECT month, modality, tests FROM stats_activity_by_modality "
            "WHERE source = {s:String} AND month >= {first:String} AND month <= {last:String} ORDER BY month, modality"
        )
    ]
    data.waiting_times = [
        WaitingTimes(r[0], int(r[1]), int(r[2]), *r[3:6], int(r[6]), *r[7:10])
        for r in rows(
            "SELECT modality, tests, request_to_test_n, request_to_test_median, request_to_test_p90, "
            "request_to_test_p95, test_to_report_n, test_to_report_median, test_to_report_p90, test_to_report_p95 "
            "FROM stats_waiting_times WHERE source = {s:String} AND month = {m:String} ORDER BY tests DESC, modality"
        )
    ]
    data.early_cancer = [
        EarlyCancer(r[0], int(r[1]), int(r[2]), *r[3:6])
        for r in rows(
            "SELECT test_group, gp_direct_tests, all_tests, gp_direct_share, gp_direct_request_to_test_median, "
            "all_request_to_test_median FROM stats_early_cancer_gp_direct "
            "WHERE source = {s:String} AND month = {m:String} ORDER BY test_group"
        )
    ]
    data.providers = [
        ProviderModality(r[0], r[1], r[2], r[3], int(r[4]))
        for r in rows(
            "SELECT region_code, provider_code, provider_name, modality, tests FROM stats_provider_modality_month "
            "WHERE source = {s:String} AND month = {m:String} ORDER BY provider_code, modality"
        )
    ]
    # Data quality is live whatever the source: rejects and warnings are not snapshotted.
    data.rejects_by_rule = [
        (rule, int(n))
        for rule, n in rows(
            "SELECT rule, sum(records) AS n FROM dq_rejects_by_rule WHERE month = {m:String} "
            "GROUP BY rule ORDER BY n DESC, rule"
        )
    ]
    # Records, not rule failures: a record failing three rules counts once here (dq_rejects_by_rule
    # counts it once per rule). Same rows and month as that view.
    data.rejects_by_provider = [
        (provider, int(n))
        for provider, n in rows(
            "SELECT provider_code, count() AS n FROM rejects FINAL "
            "WHERE formatDateTime(diagnostic_test_date, '%Y-%m') = {m:String} "
            "GROUP BY provider_code ORDER BY n DESC, provider_code"
        )
    ]
    data.warnings_by_rule = [
        (rule, int(n))
        for rule, n in rows(
            "SELECT rule, sum(records) AS n FROM dq_warnings_by_rule WHERE month = {m:String} "
            "GROUP BY rule ORDER BY n DESC, rule"
        )
    ]
    if source != "live":
        snap = rows(
            "SELECT taken_at, cutoff, records FROM snapshots FINAL WHERE month = {m:String} AND kind = {s:String}"
        )
        if snap:
            data.snapshot = SnapshotInfo(snap[0][0], snap[0][1], int(snap[0][2]))
    return data


# --------------------------------------------------------------------------------------------------
# Shaping (pure)


def activity_table(data: ReportData) -> tuple[list[str], list[str], dict[tuple[str, str], int]]:
    """(months of the window, modalities by descending volume, (month, modality) -> tests incl. 'Total')."""
    months = window(data.month)
    counts: dict[tuple[str, str], int] = {}
    volume: dict[str, int] = defaultdict(int)
    for m, modality, tests in data.activity:
        counts[(m, modality)] = counts.get((m, modality), 0) + tests
        if modality != "Total":
            volume[modality] += tests
    modalities = sorted(volume, key=lambda mod: (-volume[mod], mod))
    return months, modalities, counts


def top_providers(rows: list[ProviderModality], limit: int = TOP_PROVIDERS):
    """Providers by tests in the month: [(region, code, name, total, {modality: tests})], busiest first."""
    by: dict[str | None, dict] = {}
    for r in rows:
        p = by.setdefault(r.provider_code, {"region": None, "name": None, "total": 0, "modalities": {}})
        p["region"] = p["region"] or r.region_code
        p["name"] = p["name"] or r.provider_name
        p["total"] += r.tests
        p["modalities"][r.modality] = p["modalities"].get(r.modality, 0) + r.tests
    ranked = sorted(by.items(), key=lambda kv: (-kv[1]["total"], kv[0] or ""))
    return [(p["region"], code, p["name"], p["total"], p["modalities"]) for code, p in ranked[:limit]]


# --------------------------------------------------------------------------------------------------
# Plots: matplotlib figures saved as SVG text, trimmed for inlining in HTML

_RC = {
    "svg.fonttype": "none",  # text stays text: small, searchable, no embedded glyph paths
    "svg.hashsalt": "dids-report",  # stable element ids: the same data gives the same file
    "text.parse_math": False,  # '$' in a provider name is a dollar, not mathtext
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.axisbelow": True,  # grid lines behind the bars
}
_COLOURS = ["#005eb8", "#ed8b00", "#009639", "#7c2855", "#330072", "#00a9ce", "#da291c", "#78be20", "#425563"]


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _svg(fig, label: str) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    text = text[text.index("<svg") :]  # no XML declaration or DOCTYPE inside HTML
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    return text.replace("<svg ", f'<svg role="img" aria-label="{escape(label)}" ', 1)


def _counts_axis(axis) -> None:
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))


def _nan(value) -> float:
    return math.nan if value is None else float(value)


def plot_activity(data: ReportData) -> str | None:
    months, modalities, counts = activity_table(data)
    if not modalities:
        return None
    import matplotlib

    present = {m for m, _ in counts}
    with matplotlib.rc_context(_RC):
        fig = _figure(9, 4.2)
        ax = fig.add_subplot()
        x = list(range(len(months)))
        for i, modality in enumerate(modalities):
            # a month without any data is a gap, not a zero
            y = [counts.get((m, modality), 0) if m in present else math.nan for m in months]
            ax.plot(x, y, marker="o", markersize=3, linewidth=1.6, color=_COLOURS[i % len(_COLOURS)], label=modality)
        ax.set_xticks(x, [m if i % 2 == 0 or len(months) < 8 else "" for i, m in enumerate(months)])
        ax.set_ylabel("tests")
        ax.set_ylim(bottom=0)
        _counts_axis(ax.yaxis)
        ax.grid(axis="y", color="#dddddd", linewidth=0.6)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
        ax.set_title(f"Tests by modality, {months[0]} to {months[-1]} (Total in the table)", loc="left")
        return _svg(fig, "Activity by modality over 13 months")


def plot_waiting_times(data: ReportData) -> str | None:
    rows = [w for w in data.waiting_times if w.request_to_test_n or w.test_to_report_n]
    if not rows:
        return None
    import matplotlib

    rows = rows[::-1]  # busiest modality at the top
    y = list(range(len(rows)))
    h = 0.38
    with matplotlib.rc_context(_RC):
        fig = _figure(9, 1.2 + 0.42 * len(rows))
        left, right = fig.subplots(1, 2, sharey=True)
        panels = (
            (left, "Request to test (days)", "request_to_test"),
            (right, "Test to report (days)", "test_to_report"),
        )
        for ax, title, prefix in panels:
            medians = [_nan(getattr(w, f"{prefix}_median")) for w in rows]
            p90s = [_nan(getattr(w, f"{prefix}_p90")) for w in rows]
            ax.barh([v + h / 2 for v in y], medians, height=h, color=_COLOURS[0], label="median")
            ax.barh([v - h / 2 for v in y], p90s, height=h, color=_COLOURS[1], label="90th percentile")
            ax.set_title(title, loc="left")
            ax.grid(axis="x", color="#dddddd", linewidth=0.6)
            ax.set_xlim(left=0)
        left.set_yticks(y, [w.modality for w in rows])
        fig.legend(*left.get_legend_handles_labels(), loc="outside upper right", ncols=2, frameon=False)
        return _svg(fig, f"Waiting times by modality, {data.month}")


def _hbar(items: list[tuple[str, int]], title: str, colour: str, label: str) -> str | None:
    if not items:
        return None
    import matplotlib

    items = items[::-1]
    with matplotlib.rc_context(_RC):
        fig = _figure(9, 1.0 + 0.3 * len(items))
        ax = fig.add_subplot()
        bars = ax.barh(range(len(items)), [n for _, n in items], color=colour)
        ax.bar_label(bars, labels=[f"{n:,}" for _, n in items], padding=3, fontsize=8)
        ax.set_yticks(range(len(items)), [name for name, _ in items])
        ax.set_xlabel("rejected records")
        _counts_axis(ax.xaxis)
        ax.set_title(title, loc="left")
        ax.grid(axis="x", color="#dddddd", linewidth=0.6)
        ax.margins(x=0.1)
        return _svg(fig, label)


def plot_rejects_by_rule(data: ReportData) -> str | None:
    return _hbar(data.rejects_by_rule, f"Rejects by rule, {data.month}", _COLOURS[6], "Rejects by rule")


def plot_rejects_by_provider(data: ReportData) -> str | None:
    items = [(p or "(no provider)", n) for p, n in data.rejects_by_provider[:TOP_REJECTING_PROVIDERS]]
    title = f"Rejected records by provider, {data.month}"
    if len(data.rejects_by_provider) > TOP_REJECTING_PROVIDERS:
        title += f" (top {TOP_REJECTING_PROVIDERS} of {len(data.rejects_by_provider)})"
    return _hbar(items, title, _COLOURS[3], "Rejected records by provider")


# --------------------------------------------------------------------------------------------------
# HTML

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Arial,sans-serif;color:#212b32;margin:2rem auto;max-width:72rem;
padding:0 1rem;line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.25rem;margin-top:2.2rem;border-bottom:2px solid #005eb8}
h3{font-size:1rem;margin-top:1.4rem}.meta{color:#4c6272;margin-top:0}.note{color:#4c6272;font-size:.9rem}
.empty{background:#f0f4f5;border-left:4px solid #768692;padding:.6rem 1rem;color:#4c6272}
.banner{background:#fff9c4;border-left:4px solid #ffeb3b;padding:.6rem 1rem}
table{border-collapse:collapse;font-size:.85rem;margin:.6rem 0}
th,td{padding:.25rem .6rem;border-bottom:1px solid #d8dde0}
th{background:#f0f4f5;text-align:left}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
tr.total td{font-weight:600}.scroll{overflow-x:auto}svg{max-width:100%;height:auto}
code{background:#f0f4f5;padding:0 .2rem}
.side{display:flex;flex-wrap:wrap;gap:0 3rem;align-items:flex-start}
"""


def _e(value) -> str:
    return escape("" if value is None else str(value))


def _int(value) -> str:
    return "–" if value is None else f"{int(value):,}"


def _days(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{float(value):,.2f}".rstrip("0").rstrip(".")


def _share(value) -> str:
    return "–" if value is None else f"{100 * float(value):.1f}%"


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
            total = counts.get((m, "Total"), sum(counts.get((m, mod), 0) for mod in modalities))
            rows.append([_e(m)] + [_int(counts.get((m, mod), 0)) for mod in modalities] + [_int(total)])
        out.append("<h3>Tests by month and modality</h3>")
        out.append(_table(header, rows))
        out.append('<p class="note">– : no data for that month.</p>')
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
        rows = [
            [
                _e(w.modality),
                _int(w.tests),
                _int(w.request_to_test_n),
                _days(w.request_to_test_median),
                _days(w.request_to_test_p90),
                _days(w.request_to_test_p95),
                _int(w.test_to_report_n),
                _days(w.test_to_report_median),
                _days(w.test_to_report_p90),
                _days(w.test_to_report_p95),
            ]
            for w in data.waiting_times
        ]
        out.append(_table(header, rows))
        out.append(
            '<p class="note">Days. Percentiles interpolate between ranks (as PERCENTILE.INC); records without '
            "both dates are left out of each interval (n).</p>"
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
            _int(c.gp_direct_tests),
            _int(c.all_tests),
            _share(c.gp_direct_share),
            _days(c.gp_direct_request_to_test_median),
            _days(c.all_request_to_test_median),
        ]
        for c in data.early_cancer
    ]
    out.append(_table(header, rows))
    out.append('<p class="note">GP direct access: patient source setting 04.</p>')
    return "\n".join(out)


def _providers_section(data: ReportData) -> str:
    out = ["<h2>Providers</h2>"]
    ranked = top_providers(data.providers)
    if not ranked:
        out.append(_empty(f"No provider activity for {data.month}."))
        return "\n".join(out)
    volume: dict[str, int] = defaultdict(int)
    for r in data.providers:
        volume[r.modality] += r.tests
    # the activity table's column order, then anything it lacks
    window_order = [mod for mod in activity_table(data)[1] if mod in volume]
    modalities = window_order + sorted(set(volume) - set(window_order), key=lambda mod: (-volume[mod], mod))
    header = [("Region", False), ("Provider", False), ("Name", False), ("Tests", True)]
    header += [(mod, True) for mod in modalities]
    rows = [
        [_e(region), _e(code), _e(name), _int(total)] + [_int(mods.get(mod, 0)) for mod in modalities]
        for region, code, name, total, mods in ranked
    ]
    providers = len({r.provider_code for r in data.providers})
    shown = f"top {len(ranked)} of {providers}" if providers > len(ranked) else f"all {providers}"
    out.append(f"<h3>Tests by provider and modality, {_e(data.month)} ({shown} providers)</h3>")
    out.append(_table(header, rows))
    return "\n".join(out)


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


def build_report(data: ReportData) -> str:
    """The whole report as one HTML document (no scripts, no external references)."""
    check_month(data.month)
    generated = data.generated_at.astimezone(timezone.utc) if data.generated_at.tzinfo else data.generated_at
    month_total = sum(n for m, mod, n in data.activity if m == data.month and mod == "Total")
    rejected = sum(n for _, n in data.rejects_by_provider)
    title = f"DIDS report {data.month} ({data.source})"
    db = f" from database {_e(data.database)}" if data.database else ""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>Diagnostic Imaging Dataset: {_e(data.month)}, {_e(data.source)}</h1>",
        f'<p class="meta">Generated {generated:%Y-%m-%d %H:%M} UTC{db}. '
        f"{month_total:,} tests in {_e(data.month)}; {rejected:,} rejected records.</p>",
        _source_banner(data),
        _activity_section(data),
        _waiting_section(data),
        _cancer_section(data),
        _providers_section(data),
        _quality_section(data),
        '<h2>Notes</h2><p class="note">Counts are of records (tests), not patients, by the provider and the month '
        "of the test date (DIDS-SPEC 9.5). No disclosure control is applied: small counts are shown as they are, "
        "so check before publishing. Modality 'Unknown': no modality could be derived.</p>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"
