"""Writing one record-level release (an extract or a linkage run): the file in its format, the manifest
beside it with the file's SHA-256, and the audit row, in that order, before both files take their names."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from sinks.dissemination.audit import AuditRow, record_run
from sinks.dissemination.output import PendingRelease, write_csv


def write_release(
    client,
    database: str,
    out: Path,
    fmt: str,
    names: list[str],
    columns: list[list],
    types: list[str],
    manifest: dict[str, Any],
    audit: AuditRow,
) -> str:
    """Write and audit the release; returns the file's SHA-256. Nothing is left behind on failure."""
    release = PendingRelease(out)
    try:
        if fmt == "parquet":
            checksum = release.write_data(lambda path: write_parquet(path, names, columns, types))
        else:
            checksum = release.write_data(lambda path: write_csv(path, names, zip(*columns, strict=True)))
        release.write_manifest({**manifest, "sha256": checksum})
        record_run(client, database, replace(audit, file_sha256=checksum))
        release.place()
    finally:
        release.discard()
    return checksum


def columns_of(result, names: list[str]) -> tuple[list[list], list[str]]:
    """A query result's columns (empty ones when it has no row) and their ClickHouse type names."""
    if not result.result_rows:
        return [[] for _ in names], [t.name for t in result.column_types] if result.column_types else ["String"] * len(
            names
        )
    return [list(c) for c in result.result_columns], [t.name for t in result.column_types]


def write_parquet(path: Path, names: list[str], columns: list[list], types: list[str]) -> None:
    import polars as pl

    series = [pl.Series(n, c, dtype=_polars_type(t)) for n, c, t in zip(names, columns, types, strict=True)]
    pl.DataFrame(series).write_parquet(path, compression="zstd")


def _polars_type(clickhouse_type: str):
    import polars as pl

    base = clickhouse_type
    for wrapper in ("LowCardinality(", "Nullable("):
        if base.startswith(wrapper):
            base = base[len(wrapper) : -1]
    if base.startswith("DateTime64"):
        return pl.Datetime("ms", "UTC")
    return {
        "Date": pl.Date,
        "Date32": pl.Date,
        "Int32": pl.Int32,
        "Int64": pl.Int64,
        "UInt8": pl.UInt8,
        "UInt16": pl.UInt16,
        "UInt32": pl.UInt32,
        "UInt64": pl.UInt64,
        "Bool": pl.Boolean,
    }.get(base, pl.Utf8)
