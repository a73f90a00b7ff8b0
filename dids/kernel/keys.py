"""The record key every stage agrees on: ``site|accession`` (DIDS-SPEC §2), the Kafka key of an
examination's events and records, the lifecycle table's key and half of the warehouse's.

One function, so that an HL7 message and an extract row for the same examination land on the same
partition and table entry whatever stray spaces their senders left around the two values.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping


def record_key(site_code: str | None, accession: str | None) -> str:
    """``site|accession`` with each part trimmed; a missing part is an empty string."""
    return f"{(site_code or '').strip()}|{(accession or '').strip()}"


def event_key(event: Mapping[str, object]) -> str:
    """The record key of an event or record (its ``site_code_imaging`` and ``radiological_accession_num``)."""
    return record_key(event.get("site_code_imaging"), event.get("radiological_accession_num"))  # type: ignore[arg-type]


def is_keyed(key: str) -> bool:
    """Both parts present: a record with a blank part (DIDS067/070) is judged alone, never merged."""
    site, _, accession = key.partition("|")
    return bool(site) and bool(accession)


def partition_of(key: bytes, partitions: int) -> int:
    """The partition a keyed message lands on: librdkafka's ``consistent_random`` partitioner (CRC-32 of
    the key), which every producer of dids.ris.events uses (``dids.kernel.kafka.producer_config``). A
    chunk of a submission is written to the partition its records' keys have here, so each record meets
    the lifecycle state its live events keep."""
    return zlib.crc32(key) % partitions
