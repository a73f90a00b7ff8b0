"""``dids extract``: the records an approved agreement covers, with the recipient's own person pseudonym,
the national data opt-out applied unless the agreement is exempt, a manifest beside the file and a row
in the audit table.

The rows are the current records (``current_examinations``: withdrawn consent already left out) of the
agreement's months, providers and modalities; every value reaches ClickHouse as a query parameter and
every column name comes from the allow-list, never from the file as text.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from dids.kernel.errors import DidsError
from sinks.dissemination.agreement import Agreement
from sinks.dissemination.audit import AuditRow
from sinks.dissemination.columns import PERSON_ID
from sinks.dissemination.optout import OPTED_OUT_VIEW
from sinks.dissemination.output import check_output, manifest_path
from sinks.dissemination.pseudonyms import RecipientPseudonymiser
from sinks.dissemination.release import columns_of, write_release

SOURCE = "current_examinations"
_PERSON = "__person"


class ExtractError(DidsError):
    """The extract cannot be made as the agreement asks."""


@dataclass(frozen=True)
class ExtractResult:
    run_id: str
    out: Path
    manifest: Path
    rows: int
    opted_out_left_out: int
    sha256: str


def selection(agreement: Agreement, database: str) -> tuple[str, dict[str, Any]]:
    """The WHERE clause of the agreement's records (opt-out not applied) and its parameters."""
    where = [
        "diagnostic_test_date IS NOT NULL",
        "formatDateTime(diagnostic_test_date, '%Y-%m') IN {months:Array(String)}",
    ]
    params: dict[str, Any] = {"months": list(agreement.months)}
    if agreement.providers:
        where.append("provider_code IN {providers:Array(String)}")
        params["providers"] = list(agreement.providers)
    if agreement.modalities:
        where.append("modality IN {modalities:Array(String)}")
        params["modalities"] = list(agreement.modalities)
    return " AND ".join(where), params


def opted_out(database: str) -> str:
    return f"ifNull(person_id, '') IN (SELECT person_id FROM {database}.{OPTED_OUT_VIEW})"


def run_extract(client, database: str, agreement: Agreement, out: Path, *, key: bytes) -> ExtractResult:
    """Write the extract to ``out`` (Parquet or CSV by extension) and its manifest beside it; audit it."""
    fmt = check_output(out)
    where, params = selection(agreement, database)
    left_out = 0
    if agreement.applies_opt_out:
        left_out = int(
            client.command(
                f"SELECT count() FROM {database}.{SOURCE} WHERE {where} AND {opted_out(database)}", parameters=params
            )
        )
        where = f"{where} AND NOT {opted_out(database)}"
    selected = [f"person_id AS {_PERSON}" if c == PERSON_ID else c for c in agreement.columns]
    result = client.query(
        f"SELECT {', '.join(selected)} FROM {database}.{SOURCE} WHERE {where} ORDER BY record_key", parameters=params
    )
    names = list(agreement.columns)
    columns, types = columns_of(result, names)
    if PERSON_ID in names:
        recipient = RecipientPseudonymiser(key, agreement.recipient)
        i = names.index(PERSON_ID)
        columns[i] = [recipient.pseudonym(p) for p in columns[i]]
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
            "kind": "extract",
            "created": now.isoformat(),
            "agreement": agreement.describe(),
            "file": out.name,
            "format": fmt,
            "rows": rows,
            "records_left_out_by_opt_out": left_out,
            "person_id": "the recipient's own pseudonym: a keyed hash of the warehouse's person id with a key for "
            "this recipient only; empty where the record has no person (or a restricted code)",
        },
        AuditRow.under(
            agreement,
            run_id=run_id,
            kind="extract",
            run_time=now,
            columns=agreement.columns,
            months=agreement.months,
            rows=rows,
            opted_out_left_out=left_out,
            file_name=out.name,
            file_sha256="",
        ),
    )
    return ExtractResult(run_id, out, manifest_path(out), rows, left_out, checksum)
