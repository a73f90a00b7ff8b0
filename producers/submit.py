"""`dids submit`: publish a monthly DIDS extract file as one submission.

Two passes over the file, both streaming (a 1M-row file is never held in memory):
1. check the whole file's structure, find the keys it repeats (DIDS071 is a whole-submission rule)
   and compute its SHA-256, so a file-level reject (DIDS075/076) publishes no rows at all, as
   nationally the whole file is rejected;
2. announce the file as ``publishing`` on dids.submissions, publish the records as ``examination_event``s
   packed in ``examination_chunk`` messages on dids.ris.events (one chunk holds the records of one
   partition, up to ``CHUNK_EVENTS``), then the ``accepted`` manifest once every chunk was
   acknowledged by Kafka. A failure in between publishes ``incomplete``; a submitter killed in between
   leaves ``publishing``: either way the warehouse counts none of the file's rows (migration 0009).
Ids are deterministic (submitter, period, file checksum, row number), and so are the chunks (key
``submission_id|chunk number``, the same records in each): re-running the same file is idempotent
downstream, the same events, versions of the same examinations.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from dids.kernel import topics
from dids.kernel.errors import DidsError
from dids.kernel.items import ITEM_NAMES
from dids.kernel.keys import partition_of, record_key
from dids.kernel.producer import EventProducer
from dids.kernel.settings import Settings
from producers.extract.duplicates import duplicate_keys, uniqueness_key
from producers.extract.errors import FileRejectError
from producers.extract.reader import open_extract
from producers.extract.v2 import V2_ITEMS
from schemas.catalog import EXAMINATION_CHUNK, SUBMISSION_MANIFEST, default_catalog

_NS = uuid.UUID("0b9a3f5e-7c41-4d2a-8e6f-5a1d2c3b4e5f")
_PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
# records per chunk message: a batch of the worker's columnar engine, ~250 kB of Avro (under the 1 MB
# default message limit with room for wide v2 rows; a chunk over CHUNK_BYTES is split in two)
CHUNK_EVENTS = 1000
CHUNK_BYTES = 900_000

# (phase, bytes done, bytes total): the key passes of producers.extract.duplicates, then "publishing"
Progress = Callable[[str, int, int], None]


class SubmissionError(DidsError):
    """The submission could not be made (bad arguments, unreadable file)."""


@dataclass(frozen=True)
class SubmissionResult:
    submission_id: str
    status: str  # accepted | rejected
    record_count: int
    seconds: float
    file_reject: FileRejectError | None = None


def submission_id_for(sha256: str, period: str, submitter: str | None) -> str:
    return str(uuid.uuid5(_NS, f"{submitter or ''}|{period}|{sha256}"))


def event_id_for(submission_id: str, row_number: int) -> str:
    return str(uuid.uuid5(_NS, f"{submission_id}:{row_number}"))


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def submit_file(
    settings: Settings,
    path: Path,
    *,
    period: str,
    submitter: str | None = None,
    received: datetime | None = None,
    progress: Progress | None = None,
) -> SubmissionResult:
    if not _PERIOD.match(period):
        raise SubmissionError(f"--period {period!r} is not a month: use YYYY-MM, e.g. 2026-10")
    started = time.monotonic()
    received = received or datetime.now(timezone.utc)
    try:
        extract = open_extract(path)
    except OSError as exc:
        raise SubmissionError(f"cannot read {path}: {exc.strerror or exc}") from exc
    sha = file_sha256(path)
    submission_id = submission_id_for(sha, period, submitter)
    catalog = default_catalog()
    producer = EventProducer(settings)
    manifest: dict[str, Any] = {
        "submission_id": submission_id,
        "status": "accepted",
        "submitter_org": submitter,
        "period": period,
        "file_name": path.name,
        "file_format": extract.format,
        "sha256": sha,
        "record_count": 0,
        "received_time": received,
        "published_time": received,
        "file_reject_code": None,
        "file_reject_line": None,
        "file_reject_message": None,
    }
    try:
        # passes 1-2: the whole file's structure and the keys it repeats (DIDS071), in bounded memory
        duplicates = duplicate_keys(extract, progress)
    except FileRejectError as reject:
        manifest.update(
            status="rejected",
            file_reject_code=reject.code,
            file_reject_line=reject.line,
            file_reject_message=reject.message,
            published_time=datetime.now(timezone.utc),
        )
        _publish_manifest(producer, settings, catalog, manifest)
        return SubmissionResult(submission_id, "rejected", 0, time.monotonic() - started, reject)

    # published_time is the manifest's version in the warehouse (the latest wins): the wall clock at each
    # step, each later than the one before, whatever `received` says (a caller may pass any time)
    announced = datetime.now(timezone.utc)
    _publish_manifest(producer, settings, catalog, dict(manifest, status="publishing", published_time=announced))
    try:
        count = _publish_rows(
            producer, settings, catalog, extract, submission_id, submitter, received, duplicates, progress
        )
    except Exception as exc:
        manifest.update(status="incomplete", published_time=_after(announced))
        with contextlib.suppress(Exception):  # the 'publishing' manifest already keeps the rows out
            _publish_manifest(producer, settings, catalog, manifest)
        raise SubmissionError(
            f"{path.name}: publishing stopped part-way ({type(exc).__name__}: {exc}); the submission is marked "
            "incomplete and none of its rows count. Fix the cause and submit the file again."
        ) from exc
    manifest.update(record_count=count, published_time=_after(announced))
    _publish_manifest(producer, settings, catalog, manifest)
    return SubmissionResult(submission_id, "accepted", count, time.monotonic() - started)


def _after(announced: datetime) -> datetime:
    """Now, and at least a millisecond (the warehouse's resolution) after the 'publishing' manifest."""
    return max(datetime.now(timezone.utc), announced + timedelta(milliseconds=1))


def _publish_rows(
    producer, settings, catalog, extract, submission_id, submitter, received, duplicates, progress
) -> int:
    """Every record of the file as an event in a chunk of its partition's records, flushed: the number
    published."""
    events_topic = settings.topic(topics.RIS_EVENTS)
    chunks = _Chunks(producer, catalog, events_topic, submission_id, producer.partitions(events_topic))
    count = 0
    on_bytes = (lambda done, total: progress("publishing", done, total)) if progress else None
    for row_number, raw in extract.records(on_progress=on_bytes):
        event = {
            "event_id": event_id_for(submission_id, row_number),
            "event_type": "submitted",
            "event_time": received,
            "received_time": received,
            "source": "extract",
            "submission_id": submission_id,
            "submitter_org": submitter,
            "row_number": row_number,
            "duplicate_in_submission": uniqueness_key(raw) in duplicates,
            **{name: raw.get(name) for name in (*ITEM_NAMES, *V2_ITEMS)},
        }
        chunks.add(record_key(raw.get("site_code_imaging"), raw.get("radiological_accession_num")), event)
        count += 1
    chunks.send_all()
    producer.flush()  # every chunk acknowledged before the manifest announces them (raises otherwise)
    return count


class _Chunks:
    """Events gathered per partition, sent as a chunk when one fills. Numbering follows the file's order
    of filling, so the same file always makes the same chunks."""

    def __init__(self, producer, catalog, topic: str, submission_id: str, partitions: int):
        self.producer, self.catalog, self.topic = producer, catalog, topic
        self.submission_id, self.partitions = submission_id, partitions
        self.pending: dict[int, list[dict[str, Any]]] = {}
        self.sent = 0

    def add(self, key: str, event: dict[str, Any]) -> None:
        partition = partition_of(key.encode(), self.partitions)
        events = self.pending.setdefault(partition, [])
        events.append(event)
        if len(events) >= CHUNK_EVENTS:
            self._send(partition, self.pending.pop(partition))

    def send_all(self) -> None:
        for partition in sorted(self.pending):
            self._send(partition, self.pending[partition])
        self.pending.clear()

    def _send(self, partition: int, events: list[dict[str, Any]]) -> None:
        chunk = {"submission_id": self.submission_id, "chunk": self.sent, "events": events}
        value = self.catalog.encode(EXAMINATION_CHUNK, chunk)
        if len(value) > CHUNK_BYTES and len(events) > 1:  # wide rows: two smaller chunks, same order
            half = len(events) // 2
            self._send(partition, events[:half])
            self._send(partition, events[half:])
            return
        self.producer.send(
            self.topic, key=f"{self.submission_id}|{self.sent}".encode(), value=value, partition=partition
        )
        self.sent += 1


def _publish_manifest(producer: EventProducer, settings: Settings, catalog, manifest: dict[str, Any]) -> None:
    producer.send(
        settings.topic(topics.SUBMISSIONS),
        key=manifest["submission_id"].encode(),
        value=catalog.encode(SUBMISSION_MANIFEST, manifest),
    )
    producer.flush()
