"""The report's plots: matplotlib figures (no pyplot, no global state) saved as SVG text for inlining."""

from __future__ import annotations

import io
import math
import re
from html import escape

from sinks.report.data import TOP_REJECTING_PROVIDERS, ReportData, activity_table

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
            # a month without any data is a gap, not a zero; so is a count disclosure control hides
            y = [_nan(counts.get((m, modality), 0)) if m in present else math.nan for m in months]
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
