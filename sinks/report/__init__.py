"""The analysts' monthly report: one self-contained HTML file (inline CSS and SVG, no scripts, no
external resources) built from the statistics views of DIDS-SPEC 9 and the data-quality views.

``data`` runs the queries and holds their shapes, ``plots`` draws them as SVG, ``html`` lays out the
page; ``build_report`` is pure (data in, HTML out), so the layout is tested without ClickHouse.
"""

from sinks.report.data import (
    EarlyCancer,
    ProviderModality,
    ReportData,
    ReportError,
    SnapshotInfo,
    WaitingTimes,
    check_month,
    fetch_report_data,
    top_providers,
    window,
)
from sinks.report.html import build_report

__all__ = [
    "EarlyCancer",
    "ProviderModality",
    "ReportData",
    "ReportError",
    "SnapshotInfo",
    "WaitingTimes",
    "build_report",
    "check_month",
    "fetch_report_data",
    "top_providers",
    "window",
]
