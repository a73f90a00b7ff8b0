"""Monthly snapshots: frozen copies of a reporting month's current records, provisional then final.

A snapshot is built in a staging table and swapped in with ``REPLACE PARTITION``: readers see the
old snapshot or the new one, never a mix, and taking the same (month, kind) again replaces it.
``due`` is the scheduler's pure core: which snapshots a given day calls for.
"""

from __future__ import annotations

import calendar
import hashlib
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from dids.kernel.errors import DidsError

KINDS = ("provisional", "final")
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_OWN_COLUMNS = ("snapshot_month", "snapshot_kind")


class SnapshotError(DidsError):
    """A snapshot could not be taken (bad month or kind, or ClickHouse refused)."""


@dataclass(frozen=True)
class Snapshot:
    month: str
    kind: str
    records: int
    taken_at: datetime


@dataclass(frozen=True)
class Policy:
    provisional_days: int
    final_days: int

    def due_on(self, month: str, kind: str) -> date:
        return month_end(month) + timedelta(days=self.provisional_days if kind == "provisional" else self.final_days)


def check_month(month: str) -> str:
    if not _MONTH.match(month or ""):
        raise SnapshotError(f"month {month!r} is not YYYY-MM (for example 2026-10)")
    return month


def month_end(month: str) -> date:
    year, mon = (int(x) for x in check_month(month).split("-"))
    return date(year, mon, calendar.monthrange(year, mon)[1])


def due(today: date, months: Iterable[str], taken: set[tuple[str, str]], policy: Policy) -> list[tuple[str, str]]:
    """The (month, kind) snapshots whose day has come and that were not taken yet, oldest first."""
    out = []
    for month in sorted(set(months)):
        for kind in KINDS:
            if (month, kind) not in taken and today >= policy.due_on(month, kind):
                out.append((month, kind))
    return out


def refdata_version(refdata_dir: str) -> str:
    """What reference data the records were derived with: the folder and a digest of its CSV files."""
    if not refdata_dir:
        return "shipped samples (demo)"
    digest = hashlib.sha256()
    for path in sorted(Path(refdata_dir).glob("*.csv")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return f"{refdata_dir} sha256:{digest.hexdigest()[:16]}"


def take(client, database: str, month: str, kind: str, *, refdata: str) -> Snapshot:
    """Freeze ``month``'s current records as the ``kind`` snapshot, replacing any earlier one atomically."""
    check_month(month)
    if kind not in KINDS:
        raise SnapshotError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    target = f"{database}.snapshot_examinations"
    staging = f"{database}.snapshot_staging_{uuid.uuid4().hex[:12]}"
    columns = [r[0] for r in client.query(f"DESCRIBE TABLE {target}").result_rows if r[0] not in _OWN_COLUMNS]
    listed = ", ".join(f"`{c}`" for c in columns)
    yyyymm = int(month.replace("-", ""))
    taken_at = datetime.now(timezone.utc)
    # a plain MergeTree with the target's partitioning (0006_snapshots_and_statistics.sql): copying
    # the target's engine would, on a cluster, copy its Replicated path too and clash with it
    client.command(
        f"CREATE TABLE {staging} AS {target} ENGINE = MergeTree "
        "PARTITION BY (snapshot_month, snapshot_kind) ORDER BY (site_code, accession_number)"
    )
    try:
        # month and kind are checked above (YYYY-MM, one of KINDS), so they are safe as literals
        client.command(
            f"INSERT INTO {staging} (snapshot_month, snapshot_kind, {listed}) "
            f"SELECT '{month}', '{kind}', {listed} FROM {database}.current_examinations "
            f"WHERE toYYYYMM(diagnostic_test_date) = {yyyymm}"
        )
        records = int(client.command(f"SELECT count() FROM {staging}"))
        partition = f"tuple('{month}', '{kind}')"
        if records:
            client.command(f"ALTER TABLE {target} REPLACE PARTITION {partition} FROM {staging}")
        else:  # an empty month: nothing to swap in, so the earlier snapshot's rows go
            client.command(f"ALTER TABLE {target} DROP PARTITION {partition}")
    finally:
        client.command(f"DROP TABLE IF EXISTS {staging}")
    client.insert(
        f"{database}.snapshots",
        [[month, kind, taken_at, taken_at, records, refdata]],
        column_names=["month", "kind", "taken_at", "cutoff", "records", "refdata"],
    )
    return Snapshot(month, kind, records, taken_at)


def taken(client, database: str) -> set[tuple[str, str]]:
    return {(m, k) for m, k in client.query(f"SELECT month, kind FROM {database}.snapshots FINAL").result_rows}


def months_with_data(client, database: str) -> list[str]:
    rows = client.query(
        f"SELECT DISTINCT formatDateTime(diagnostic_test_date, '%Y-%m') FROM {database}.current_examinations "
        "WHERE diagnostic_test_date IS NOT NULL"
    ).result_rows
    return sorted(r[0] for r in rows)
