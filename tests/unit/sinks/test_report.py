"""The report's HTML from hand-made data: one inline SVG per plot, escaped text, no external
references, and a readable page when there is nothing to show."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from sinks.disclosure import DisclosureRules
from sinks.report import (
    EarlyCancer,
    ProviderModality,
    ReportData,
    ReportError,
    SnapshotInfo,
    WaitingTimes,
    build_report,
    check_month,
    top_providers,
    window,
)

NOW = datetime(2026, 11, 3, 9, 30, tzinfo=timezone.utc)
CT, XR = "Computerized axial tomography", "Plain radiography"


def full_data(**overrides) -> ReportData:
    """The raw statistics (--no-disclosure-control): small counts as they are."""
    data = ReportData(
        month="2026-10",
        source="live",
        generated_at=NOW,
        database="dids",
        disclosure_control=False,
        activity=[
            ("2025-10", XR, 900),
            ("2025-10", "Total", 900),
            ("2026-09", CT, 40),
            ("2026-09", XR, 1100),
            ("2026-09", "Total", 1140),
            ("2026-10", CT, 4321),
            ("2026-10", XR, 12345),
            ("2026-10", "Total", 16666),
        ],
        waiting_times=[
            WaitingTimes(XR, 12345, 12000, 1.0, 6.0, 9.0, 11000, 0.0, 2.0, 3.0),
            WaitingTimes(CT, 4321, 4300, 2.5, 3.7, 3.85, 4000, 1.0, None, None),
        ],
        early_cancer=[EarlyCancer("Chest X-ray", 2, 3, 0.6667, 7.0, 9.0)],
        providers=[
            ProviderModality("Y56", "RAA", "RAA <Trust> & Co", CT, 4000),
            ProviderModality("Y56", "RAA", "RAA <Trust> & Co", XR, 10000),
            ProviderModality("Y58", "RBB", 'Smith\'s $5 "Imaging"', XR, 2345),
            ProviderModality("Y58", "RCC", None, CT, 321),
        ],
        rejects_by_rule=[("DIDS012", 17), ("DIDS040", 5)],
        rejects_by_provider=[("RAA", 12), (None, 3)],
        warnings_by_rule=[("DIDS061", 8)],
    )
    for k, v in overrides.items():
        setattr(data, k, v)
    return data


def table_cells(html: str) -> list[str]:
    return re.findall(r"<td[^>]*>(.*?)</td>", html)


def test_full_report_has_one_svg_per_plot_and_the_numbers():
    html = build_report(full_data())
    assert html.startswith("<!DOCTYPE html>")
    assert html.count("<svg") == 4
    assert "<?xml" not in html and "<!DOCTYPE svg" not in html and "<metadata>" not in html
    assert "<title>DIDS report 2026-10 (live) INTERNAL USE ONLY</title>" in html
    assert "Generated 2026-11-03 09:30 UTC from database dids" in html
    cells = table_cells(html)
    # activity table: 2026-10 row = CT, XR, Total (columns by descending volume: XR first)
    i = cells.index("2026-10")
    assert cells[i : i + 4] == ["2026-10", "12,345", "4,321", "16,666"]
    # a month of the window with no data at all shows dashes, not zeros
    j = cells.index("2026-08")
    assert cells[j : j + 4] == ["2026-08", "–", "–", "–"]
    # 13 months, oldest first
    months = [c for c in cells if re.fullmatch(r"\d{4}-\d{2}", c)]
    assert months == window("2026-10") and months[0] == "2025-10"
    # waiting times: interpolated percentiles kept, missing ones as dashes
    k = cells.index(CT)
    assert cells[k : k + 10] == [CT, "4,321", "4,300", "2.5", "3.7", "3.85", "4,000", "1", "–", "–"]
    # early cancer share
    assert "66.7%" in cells
    # data quality: rules with rejects and warnings side by side; providers, one without a code
    assert cells[cells.index("DIDS012") : cells.index("DIDS012") + 9] == [
        "DIDS012", "17", "0", "DIDS040", "5", "0", "DIDS061", "0", "8",
    ]  # fmt: skip
    assert cells[cells.index("DIDS061") + 3 :] == ["RAA", "12", "(no provider)", "3"]
    assert "16,666 tests in 2026-10; 15 rejected records" in html


def test_html_in_names_is_escaped_everywhere():
    html = build_report(full_data())
    assert "<Trust>" not in html
    assert "RAA &lt;Trust&gt; &amp; Co" in html
    assert "Smith&#x27;s $5 &quot;Imaging&quot;" in html
    # the top-providers table: busiest first, provider without a name still listed
    cells = table_cells(html)
    assert cells.index("RAA") < cells.index("RBB") < cells.index("RCC")


def test_names_inside_plots_are_escaped_too():
    data = full_data(rejects_by_provider=[("<script>alert(1)</script>", 4)])
    html = build_report(data)
    assert "<script" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_no_external_references_and_no_scripts():
    html = build_report(full_data())
    assert "<script" not in html
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", html)
    assert "@import" not in html


def test_empty_month_renders_notes_instead_of_plots():
    html = build_report(ReportData(month="2026-10", source="live", generated_at=NOW))
    assert "<svg" not in html
    assert "No data for the 13 months to 2026-10." in html
    assert "No waiting-time data for 2026-10." in html
    assert "No early-cancer-diagnosis tests for 2026-10." in html
    assert "No provider activity for 2026-10." in html
    assert "No rejected records for 2026-10." in html
    assert "0 tests in 2026-10; 0 rejected records" in html


def test_partly_empty_month_mixes_plots_and_notes():
    # activity in earlier months only, waiting times without any interval, rejects but no provider rows
    data = ReportData(
        month="2026-10",
        source="live",
        generated_at=NOW,
        activity=[("2026-05", XR, 3), ("2026-05", "Total", 3)],
        waiting_times=[WaitingTimes(XR, 3, 0, None, None, None, 0, None, None, None)],
        rejects_by_rule=[("DIDS012", 1)],
    )
    html = build_report(data)
    assert html.count("<svg") == 2  # activity and rejects by rule
    assert "No waiting-time data for 2026-10." in html
    assert "No rejected records by provider for 2026-10." in html


def test_snapshot_source_says_which_snapshot_or_that_none_was_taken():
    missing = build_report(ReportData(month="2026-10", source="provisional", generated_at=NOW))
    assert "No provisional snapshot of 2026-10 has been taken" in missing
    assert "dids snapshot --month 2026-10 --kind provisional" in missing
    taken = datetime(2026, 12, 5, 2, 0, tzinfo=timezone.utc)
    snap = SnapshotInfo(taken, taken, 16666)
    html = build_report(full_data(source="final", snapshot=snap))
    assert "the final snapshot of 2026-10, taken 2026-12-05 02:00 UTC" in html and "16,666 records" in html


def test_same_data_same_file():
    assert build_report(full_data()) == build_report(full_data())


def test_month_checks_and_window():
    assert window("2026-01", 3) == ["2025-11", "2025-12", "2026-01"]
    assert len(window("2026-10")) == 13
    for bad in ("2026-13", "2026-1", "26-10", "2026/10", ""):
        with pytest.raises(ReportError, match="YYYY-MM"):
            check_month(bad)


def test_top_providers_totals_and_limit():
    rows = [ProviderModality("R", f"P{i:02d}", None, XR, i) for i in range(30)]
    rows.append(ProviderModality("R", "P29", "Name", CT, 5))
    ranked = top_providers(rows, limit=3)
    assert [(code, total) for _, code, _, total, _ in ranked] == [("P29", 34), ("P28", 28), ("P27", 27)]
    assert ranked[0][2] == "Name" and ranked[0][4] == {XR: 29, CT: 5}


def published_data() -> ReportData:
    """What the pub_* views give: hidden counts and statistics are None, provider totals published."""
    return full_data(
        disclosure_control=True,
        disclosure_rules=DisclosureRules().describe(),
        activity=[("2026-10", CT, None), ("2026-10", XR, 12345), ("2026-10", "Total", 12349)],
        waiting_times=[WaitingTimes(CT, None, None, None, None, None, None, None, None, None)],
        early_cancer=[EarlyCancer("Chest X-ray", None, 10, None, None, 9.0)],
        providers=[ProviderModality("Y56", "RAA", "RAA", CT, None), ProviderModality("Y56", "RAA", "RAA", XR, 20)],
        provider_totals={"RAA": 25},
    )


def test_published_report_marks_hidden_cells_and_says_how():
    html = build_report(published_data())
    cells = table_cells(html)
    assert cells[cells.index("2026-10") : cells.index("2026-10") + 4] == ["2026-10", "12,345", "*", "12,349"]
    assert cells[cells.index(CT) : cells.index(CT) + 10] == [CT] + ["*"] * 9
    assert cells[cells.index("Chest X-ray") : cells.index("Chest X-ray") + 6] == [
        "Chest X-ray",
        "*",
        "10",
        "*",
        "*",
        "9",
    ]
    # the provider's published total, not the sum of its published cells
    assert cells[cells.index("Y56") : cells.index("Y56") + 6] == ["Y56", "RAA", "RAA", "25", "20", "*"]
    assert "counts 1 to 7 suppressed, other sub-national counts rounded to the nearest 5" in html
    assert "* : hidden by disclosure control" in html
    assert "INTERNAL USE ONLY" not in html and "No disclosure control" not in html


def test_raw_report_says_it_is_for_internal_use_only():
    html = build_report(full_data())
    assert "<title>DIDS report 2026-10 (live) INTERNAL USE ONLY</title>" in html
    assert '<p class="banner internal"><strong>INTERNAL USE ONLY: no disclosure control.</strong>' in html
    assert "* : hidden" not in html


def test_top_providers_ranks_by_the_published_totals():
    rows = [ProviderModality("R", "A", None, XR, 40), ProviderModality("R", "B", None, XR, None)]
    ranked = top_providers(rows, totals={"A": 40, "B": None})
    assert [(code, total) for _, code, _, total, _ in ranked] == [("A", 40), ("B", None)]
