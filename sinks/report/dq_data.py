"""The data-quality report's shapes and the checks of its parameters (pure: no ClickHouse here).

One report is about one *scope*: a provider's month (the records of the provider whose test date is in
the month, as ``dq_rejects_by_rule`` counts them) or one extract file (``--submission``). The same shape
is filled from the warehouse (``sinks.report.dq_queries``) or from a validation run before a file is
sent (``dids validate --report``), and drawn by ``sinks.report.dq_html``. It holds counts, rule codes,
item names, site codes, accession numbers and record numbers: never a patient value.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sinks.report.data import ReportError, check_month, window

TREND_MONTHS = 6
REJECTED_LIMIT = 5000  # rejected records listed; the count above the list is always whole

_PROVIDER = re.compile(r"^[A-Z0-9]{3,6}$")  # an ODS organisation code (trusts: 3, sites: 5)


def check_provider(code: str) -> str:
    """An ODS provider code (3 to 6 letters or digits), upper-cased; anything else raises ReportError."""
    value = (code or "").strip().upper()
    if not _PROVIDER.match(value):
        raise ReportError(
            f"provider {_shown(code)} is not an ODS organisation code (3 to 6 letters or digits, for example RJ1)"
        )
    return value


def check_submission_id(value: str) -> str:
    """A submission id as ``dids submit`` prints it (a UUID), lower-cased; anything else raises ReportError."""
    text = (value or "").strip().lower()
    try:
        parsed = uuid.UUID(text)
    except ValueError:
        parsed = None
    if parsed is None or str(parsed) != text:
        raise ReportError(
            f"submission id {_shown(value)} is not a submission id (a UUID as `dids submit` prints it, "
            "for example 0c3f4e7a-1b2d-5e6f-8a9b-0c1d2e3f4a5b)"
        )
    return text


def _shown(value: str | None, limit: int = 40) -> str:
    """A parameter echoed in an error: quoted, control characters spelled out, long ones cut."""
    text = repr(value or "")
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def trend_window(month: str, months: int = TREND_MONTHS) -> list[str]:
    """The ``months`` months ending at ``month``, oldest first."""
    return window(check_month(month), months)


@dataclass(frozen=True)
class RuleLine:
    """One rule that fired in the scope. ``national_share`` and ``trend`` are None when not available
    (before submission); ``trend`` has one share per month of ``DqReportData.trend_months``."""

    code: str
    severity: str  # "reject" or "warning"
    records: int
    national_share: float | None = None
    trend: tuple[float | None, ...] | None = None


@dataclass(frozen=True)
class ItemBlanks:
    """How many of ``records`` have the item blank. ``derived``: counted from the derived column the
    warehouse keeps for it, so a value that could not be used counts as blank too."""

    item: str  # the national CSV header
    blank: int
    records: int
    derived: bool = False


@dataclass(frozen=True)
class RejectedRecord:
    """A rejected record: where it is, never what it holds. ``failures``: (code, severity, fields)."""

    site_code: str | None
    accession_number: str | None
    row_number: int | None  # data record number in its file (from 1); None for a real-time event
    failures: tuple[tuple[str, str, tuple[str, ...]], ...]


@dataclass(frozen=True)
class FileReject:
    code: str
    line: int | None


@dataclass
class DqReportData:
    """Everything the data-quality report shows (module docstring)."""

    subject: str  # "provider RJ1, 2026-10" or "submission <id>"
    generated_at: datetime
    before_submission: bool  # a validation run: no national share, no trend
    origin: str = ""  # where the numbers come from (database, or the validated file)
    details: list[tuple[str, str]] = field(default_factory=list)  # (label, value) about the scope
    month: str | None = None
    received: int = 0
    accepted: int = 0
    rejected: int = 0
    with_warnings: int = 0
    rules: list[RuleLine] = field(default_factory=list)
    descriptions: dict[str, str] = field(default_factory=dict)  # code -> national wording in short
    blanks: list[ItemBlanks] = field(default_factory=list)
    blanks_basis: str = ""
    rejected_records: list[RejectedRecord] = field(default_factory=list)
    trend_months: list[str] = field(default_factory=list)
    file_reject: FileReject | None = None
    notes: list[str] = field(default_factory=list)

    def share(self, records: int) -> float | None:
        return records / self.received if self.received else None
