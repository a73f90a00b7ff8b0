"""The stream processor's work on one message, as a plain function (no Faust, no Kafka).

decode -> derive -> the current record for dids.examinations, or a dead letter for dids.dlq.
The Faust agents only call this and route the result, so it is tested without a broker.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from schemas.catalog import EXAMINATION_EVENT, EXAMINATION_RECORD, Catalog
from schemas.codec import CodecError
from streams.derive_basic import month_and_year_of_test, provider_code_from_site


@dataclass(frozen=True)
class Output:
    key: str
    value: bytes


@dataclass(frozen=True)
class DeadLetter:
    error: str  # the error class, e.g. UnknownSchemaError
    message: str  # what went wrong; never a patient identifier

    def headers(self, topic: str, partition: int, offset: int) -> list[tuple[str, bytes]]:
        return [
            ("dids.error", self.error.encode()),
            ("dids.error.message", self.message[:1000].encode()),
            ("dids.source.topic", topic.encode()),
            ("dids.source.partition", str(partition).encode()),
            ("dids.source.offset", str(offset).encode()),
        ]


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def record_key(site_code: str | None, accession: str | None) -> str:
    return f"{site_code or ''}|{accession or ''}"


def derive_record(event: dict[str, Any], processed_ms: int) -> dict[str, Any]:
    """Build the examination record (no direct identifiers) from one decoded event."""
    site = _clean(event.get("site_code_imaging")) or ""
    accession = _clean(event.get("radiological_accession_num")) or ""
    test_date = _clean(event.get("diagnostic_test_date"))
    month, year = month_and_year_of_test(test_date)
    event_ms = _millis(event["event_time"])
    return {
        "record_key": record_key(site, accession),
        "site_code": site,
        "accession_number": accession,
        # the RIS event time orders versions; later events replace earlier ones
        "version": event_ms,
        "status": "cancelled" if event.get("event_type") == "cancelled" else "active",
        "event_id": event["event_id"],
        "event_type": event["event_type"],
        "event_time": event_ms,
        "received_time": _millis(event["received_time"]),
        "processed_time": processed_ms,
        "source": event["source"],
        "submission_id": event.get("submission_id"),
        "submitter_org": event.get("submitter_org"),
        "provider_code": provider_code_from_site(site),
        "diagnostic_test_date": test_date,
        "month_of_test": month,
        "year_of_test": year,
        "patient_source_setting": _clean(event.get("patient_source_setting")),
        "imaging_code_nicip": (_clean(event.get("imaging_code_nicip")) or "").upper() or None,
        "imaging_code_snomed": _clean(event.get("imaging_code_snomed")),
    }


def process_message(catalog: Catalog, value: bytes | None) -> Output | DeadLetter:
    if value is None:
        return DeadLetter("EmptyMessageError", "message has no value (tombstone on the events topic)")
    try:
        event = catalog.decode(value, EXAMINATION_EVENT)
    except CodecError as exc:
        return DeadLetter(type(exc).__name__, str(exc))
    record = derive_record(event, int(time.time() * 1000))
    return Output(record["record_key"], catalog.encode(EXAMINATION_RECORD, record))


def _millis(value: Any) -> int:
    # fastavro gives timestamp-millis as aware datetimes
    if isinstance(value, int):
        return value
    return int(value.timestamp() * 1000)
