"""``dids linkage``: the cancer-registry feed. The current records of a month (monthly run) or received
since a day (daily run) with their linkage pseudonym (``linkage_feed``, migration 0012): withdrawn consent
is always left out, the national data opt-out unless the registry's agreement is exempt. Written like an
extract (new file, manifest, audit row of kind ``linkage``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from sinks.dissemination.agreement import Agreement
from sinks.dissemination.audit import AuditRow
from sinks.dissemination.extract import ExtractResult
from sinks.dissemination.output import check_output, manifest_path
from sinks.dissemination.release import columns_of, write_release

FEED = "linkage_feed"
FEED_COLUMNS = (
    "linkage_id",
    "provider_code",
    "site_code",
    "diagnostic_test_date",
    "diagnostic_test_request_date",
    "service_report_issue_date",
    "modality",
    "sub_modality",
    "imaging_code_nicip",
    "imaging_code_nicip_description",
    "derived_imaging_code_snomed_ct",
    "early_cancer_diagnosis",
    "patient_source_setting",
    "received_time",
)


@dataclass(frozen=True)
class Window:
    """A monthly run (``month``: tests of that month) or a daily one (``since``: records received since)."""

    month: str | None = None
    since: date | None = None

    def where(self) -> tuple[str, dict[str, Any]]:
        if self.month is not None:
            return "month = {month:String}", {"month": self.month}
        return "received_time >= toDateTime64({since:Date32}, 3, 'UTC')", {"since": self.since}


def run_linkage(client, database: str, agreement: Agreement, window: Window, out: Path) -> ExtractResult:
    fmt = check_output(out)
    where, params = window.where()
    if agreement.providers:
        where += " AND provider_code IN {providers:Array(String)}"
        params["providers"] = list(agreement.providers)
    if agreement.modalities:
        where += " AND modality IN {modalities:Array(String)}"
        params["modalities"] = list(agreement.modalities)
    left_out = 0
    if agreement.applies_opt_out:
        left_out = int(
            client.command(f"SELECT count() FROM {database}.{FEED} WHERE {where} AND opted_out", parameters=params)
        )
        where += " AND NOT opted_out"
    result = client.query(
        f"SELECT {', '.join(FEED_COLUMNS)} FROM {database}.{FEED} WHERE {where} "
        "ORDER BY received_time, provider_code, diagnostic_test_date, linkage_id",
        parameters=params,
    )
    names = list(FEED_COLUMNS)
    columns, types = columns_of(result, names)
    run_id, now = str(uuid.uuid4()), datetime.now(timezone.utc)
    rows = len(columns[0])
    checksum = write_release(
        client,
        database,
        out,
        fmt,
        names,
        columns,
        types,
        {
            "run_id": run_id,
            "kind": "linkage",
            "created": now.isoformat(),
            "agreement": agreement.describe(),
            "month": window.month,
            "since": window.since.isoformat() if window.since else None,
            "file": out.name,
            "format": fmt,
            "rows": rows,
            "records_left_out_by_opt_out": left_out,
            "linkage_id": "HMAC-SHA256 (hex) of the 10-digit NHS number with the linkage key shared with the "
            "registry; records without a valid NHS number or with a restricted code are not in the feed",
        },
        AuditRow.under(
            agreement,
            run_id=run_id,
            kind="linkage",
            run_time=now,
            columns=FEED_COLUMNS,
            months=(window.month,) if window.month else (),
            since=window.since,
            rows=rows,
            opted_out_left_out=left_out,
            file_name=out.name,
            file_sha256="",
        ),
    )
    return ExtractResult(run_id, out, manifest_path(out), rows, left_out, checksum)
