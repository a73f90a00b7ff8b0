"""Which topic goes into which table, and how a decoded record becomes a row of it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

from dids.kernel import topics
from dids.kernel.errors import DidsError
from dids.kernel.pseudonyms import is_person_id
from dids.kernel.settings import Settings
from schemas.catalog import (
    CONSENT_CHANGE,
    EXAMINATION_RECORD,
    EXAMINATION_REJECT,
    LINKAGE_PSEUDONYM,
    OPTOUT_CHANGE,
    SUBMISSION_MANIFEST,
)


@dataclass(frozen=True)
class Route:
    """One topic into one table: Avro records of ``schema`` become rows of ``table``."""

    topic: str
    table: str
    schema: str
    # for the hashed lists (consent, opt-out): (key, decoded value or None for a tombstone, timestamp ms)
    # -> the checked row; tombstones reach it instead of being decoded
    check: Callable[[bytes | None, dict[str, Any] | None, int], dict[str, Any]] | None = None


CONSENT_TABLE = "consent_changes"
OPTOUT_TABLE = "optout_changes"
LINKAGE_TABLE = "linkage_pseudonyms"


def routes(settings: Settings) -> list[Route]:
    return [
        Route(settings.topic(topics.EXAMINATIONS), "examinations", EXAMINATION_RECORD),
        Route(settings.topic(topics.REJECTS), "rejects", EXAMINATION_REJECT),
        Route(settings.topic(topics.SUBMISSIONS), "submissions", SUBMISSION_MANIFEST),
        # the views hide a withdrawn person's stored records as soon as the change is in (migration 0009)
        Route(settings.topic(topics.CONSENT), CONSENT_TABLE, CONSENT_CHANGE, check=consent_record),
        # extracts and the linkage feed leave out an opted-out person's records (migration 0011)
        Route(settings.topic(topics.OPTOUT), OPTOUT_TABLE, OPTOUT_CHANGE, check=optout_record),
        # the registry's linkage pseudonyms, in a table only the linkage account reads (migration 0012)
        Route(settings.topic(topics.LINKAGE), LINKAGE_TABLE, LINKAGE_PSEUDONYM, check=linkage_row),
    ]


def linkage_row(key: bytes | None, record: dict[str, Any] | None, timestamp_ms: int) -> dict[str, Any]:
    """A linkage pseudonym as a row: keyed by its record, and a keyed hash or nothing (never a number)."""
    if record is None:
        raise BadRowError("linkage pseudonym tombstone: the stream never sends one")
    if (key or b"").decode("utf-8", errors="replace") != record["record_key"]:
        raise BadRowError("linkage pseudonym whose key is not its record key")
    if record["linkage_id"] is not None and not is_person_id(record["linkage_id"]):
        raise BadRowError("linkage pseudonym that is not a keyed hash (64 hex characters)")
    return record


def consent_record(key: bytes | None, record: dict[str, Any] | None, timestamp_ms: int) -> dict[str, Any]:
    """A consent change as a row, checked the way the stream's registry checks it: only keyed hashes are
    stored, so a message carrying anything else (an NHS number in clear) is refused, never inserted."""
    return _hashed_list_row("consent change", ("withdrawn", "reinstated"), key, record, timestamp_ms)


def optout_record(key: bytes | None, record: dict[str, Any] | None, timestamp_ms: int) -> dict[str, Any]:
    """An opt-out change as a row, checked like a consent change (keyed hashes only)."""
    return _hashed_list_row("opt-out change", ("opted_out", "removed"), key, record, timestamp_ms)


def _hashed_list_row(what: str, statuses: tuple[str, str], key, record, timestamp_ms: int) -> dict[str, Any]:
    """``statuses`` = (on the list, off it); a tombstone means off it."""
    person_id = (key or b"").decode("ascii", errors="replace")
    if record is None:
        record = {"person_id": person_id, "status": statuses[1], "created_date": None}
        record["processed_time"] = datetime.fromtimestamp(timestamp_ms / 1000, tz=timezone.utc)
    if not is_person_id(record["person_id"]) or person_id != record["person_id"]:
        raise BadRowError(f"{what} whose key and person_id are not the same keyed hash (64 hex characters)")
    if record["status"] not in statuses:
        raise BadRowError(f"{what} whose status is neither {statuses[0]} nor {statuses[1]}")
    return record


@dataclass(frozen=True)
class TableShape:
    """The columns the sink fills (DESCRIBE TABLE minus DEFAULT/MATERIALIZED ones) and which hold dates."""

    columns: list[str]
    date_columns: frozenset[str]
    # their ClickHouse types, given with each insert: else clickhouse-connect asks DESCRIBE TABLE every time
    types: tuple[str, ...] = ()

    @classmethod
    def describe(cls, client, table: str) -> TableShape:
        rows = [r for r in client.query(f"DESCRIBE TABLE {table}").result_rows if not r[2]]  # r[2] = default_type
        dates = frozenset(r[0] for r in rows if "Date" in r[1] and "DateTime" not in r[1])
        return cls([r[0] for r in rows], dates, tuple(r[1] for r in rows))

    def row(self, record: dict[str, Any], topic: str, partition: int, offset: int) -> list[Any]:
        values = dict(record)
        failures = values.pop("failures", None)
        if failures is not None:  # Nested columns of the rejects table
            values["failures.code"] = [f["code"] for f in failures]
            values["failures.severity"] = [f["severity"] for f in failures]
            values["failures.fields"] = [f["fields"] for f in failures]
        for column in self.date_columns:
            values[column] = _date_or_none(values.get(column), column)
        values.update(kafka_topic=topic, kafka_partition=partition, kafka_offset=offset)
        return [values.get(c) for c in self.columns]


class BadRowError(DidsError):
    """A decoded record that cannot become a row (a date column holding something else): dead-lettered."""


def _date_or_none(value: Any, column: str) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        # the reason names the column, never the value (it may be a patient's date)
        raise BadRowError(f"column {column}: not a CCYY-MM-DD date") from None
