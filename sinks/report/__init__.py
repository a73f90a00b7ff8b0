"""The analysts' monthly report: one self-contained HTML file (inline CSS and SVG, no scripts, no
external resources) built from the statistics views of DIDS-SPEC 9 and the data-quality views.

``data`` runs the queries and holds their shapes, ``plots`` draws them as SVG, ``html`` lays out the
page; ``build_report`` is pure (data in, HTML out), so the layout is tested without ClickHouse.

The per-provider data-quality report (``dids dq-report``, ``dids validate --report``) is beside it:
``dq_data`` (shapes, parameter checks), ``dq_queries`` (the warehouse's numbers), ``dq_html`` (the page).
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
from sinks.report.dq_data import DqReportData, check_provider, check_submission_id
from sinks.report.dq_html import build_dq_report
from sinks.report.dq_queries import fetch_provider_month, fetch_submission
from sinks.report.html import build_report

__all__ = [
    "DqReportData",
    "EarlyCancer",
    "ProviderModality",
    "ReportData",
    "ReportError",
    "SnapshotInfo",
    "WaitingTimes",
    "build_dq_report",
    "build_report",
    "check_month",
    "check_provider",
    "check_submission_id",
    "fetch_provider_month",
    "fetch_report_data",
    "fetch_submission",
    "top_providers",
    "window",
]
