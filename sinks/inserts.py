"""Inserting a batch into ClickHouse exactly once, and never blocking on one for good.

Each insert carries a deterministic ``insert_deduplication_token`` (topic, partition, first and last
offset of each topic-partition in it), so a retried batch is a no-op. While ClickHouse is away or busy
the insert is retried with backoff, however long; when ClickHouse refuses the batch's data (the same
rows every time) it is inserted row by row, and a row it still refuses is handed to ``dead_letter``
with the reason.
"""

from __future__ import annotations

import logging
import re
import struct
import threading
import time
from collections.abc import Callable
from typing import Any

from dids.kernel.errors import DidsError
from sinks.batches import Batch
from sinks.clickhouse import DatabaseError, DataError, OperationalError
from sinks.metrics import BATCHES, ERRORS, FAILING, INSERT_SECONDS, LAST_INSERT, ROWS
from sinks.routes import TableShape

log = logging.getLogger(__name__)

# ClickHouse's answers that are about the data, not the server: the same rows are refused every time
_DATA_ERROR_CODES = frozenset({6, 27, 38, 41, 43, 53, 69, 70, 72, 117, 131, 349})
_CLIENT_DATA_ERRORS = (ValueError, OverflowError, TypeError, struct.error)  # the rows cannot even be encoded
REFUSALS_BEFORE_SPLIT = 3  # a batch refused this often for its data is inserted row by row

# (topic, partition, offset, key, value, reason): where a row ClickHouse refuses goes
DeadLetter = Callable[[str, int, int, bytes | None, bytes | None, BaseException], None]


def _data_error(exc: BaseException) -> bool:
    if isinstance(exc, OperationalError):
        return False
    if isinstance(exc, (DataError, *_CLIENT_DATA_ERRORS)):  # the client could not encode the rows
        return True
    code = re.search(r"\bCode: (\d+)", str(exc))
    return isinstance(exc, DatabaseError) and code is not None and int(code.group(1)) in _DATA_ERROR_CODES


class SinkStoppedError(DidsError):
    """The sink was asked to stop while a batch could not be inserted; its offsets stay uncommitted."""


class Inserter:
    def __init__(
        self, client, shapes: dict[str, TableShape], stop_event: threading.Event, dead_letter: DeadLetter
    ) -> None:
        self.client = client
        self.shapes = shapes
        self.stop_event = stop_event
        self.dead_letter = dead_letter
        self.failing_since: float | None = None  # monotonic time inserts started failing, else None

    def insert_batches(self, batches: list[tuple[tuple[str, int], Batch]]) -> None:
        """Several topic-partitions' batches of one table in one insert, its token naming every
        partition's offsets (deterministic: a retry of the same batches is a no-op). If ClickHouse refuses
        the data, each batch goes its own way (``insert_batch``), so a bad row holds up only its own."""
        if len(batches) == 1:
            (topic, partition), batch = batches[0]
            self.insert_batch(topic, partition, batch)
            return
        table = batches[0][1].route.table
        rows = [row for _, batch in batches for row in batch.rows]
        token = ",".join(f"{topic}:{partition}:{batch.first}-{batch.last}" for (topic, partition), batch in batches)
        if self.insert_with_retry(table, rows, token) is None:
            return
        for (topic, partition), batch in batches:
            self.insert_batch(topic, partition, batch)

    def insert_batch(self, topic: str, partition: int, batch: Batch) -> None:
        """The batch in one insert; if ClickHouse refuses its data every time, row by row, and a row it
        still refuses goes to the dead-letter topic with the reason, so no partition blocks for good."""
        table = batch.route.table
        if self.insert_with_retry(table, batch.rows, f"{topic}:{partition}:{batch.first}-{batch.last}") is None:
            return
        log.warning(
            "%s[%d]: ClickHouse refuses the data of %d rows: inserting them one by one",
            topic,
            partition,
            len(batch.rows),
        )
        for row, (key, value, offset) in zip(batch.rows, batch.sources, strict=True):
            refusal = self.insert_with_retry(table, [row], f"{topic}:{partition}:{offset}-{offset}", refusals=1)
            if refusal is not None:
                self.dead_letter(topic, partition, offset, key, value, refusal)
        FAILING.set(0)  # the partition moves on: what ClickHouse refused is in the dead-letter topic
        self.failing_since = None

    def insert_with_retry(
        self, table: str, rows: list[list[Any]], token: str, *, refusals: int = REFUSALS_BEFORE_SPLIT
    ) -> BaseException | None:
        """Insert ``rows``; retry while ClickHouse is away or busy, however long. None once inserted; the
        error once ClickHouse has refused their data ``refusals`` times (the caller splits the batch or
        dead-letters the row)."""
        delay = 0.5
        refused = 0
        while True:
            started = time.monotonic()
            try:
                shape = self.shapes[table]
                self.client.insert(
                    table,
                    columns_of(rows, len(shape.columns)),
                    column_names=shape.columns,
                    column_type_names=shape.types or None,
                    column_oriented=True,
                    settings={"insert_deduplication_token": token},
                )
            except (OperationalError, DatabaseError, *_CLIENT_DATA_ERRORS) as exc:
                ERRORS.labels("insert").inc()
                if _data_error(exc):
                    refused += 1
                    if refused >= refusals:
                        return exc
                FAILING.set(1)
                if self.failing_since is None:
                    self.failing_since = time.monotonic()
                log.warning(
                    "insert of %d rows into %s failed (%s); retrying in %.1fs", len(rows), table, short(exc), delay
                )
                if self.stop_event.wait(delay):
                    # stopping: leave the batch uncommitted, the next run inserts it (same token)
                    raise SinkStoppedError(f"stopped with {len(rows)} rows not inserted: {short(exc)}") from exc
                delay = min(delay * 2, 10.0)
                continue
            INSERT_SECONDS.observe(time.monotonic() - started)
            LAST_INSERT.set_to_current_time()
            FAILING.set(0)
            self.failing_since = None
            ROWS.labels(table).inc(len(rows))
            BATCHES.labels(table).inc()
            return None


def columns_of(rows: list[list[Any]], width: int) -> list[list[Any]]:
    """The rows as columns, transposed in C (``zip``): clickhouse-connect serialises column by column, and
    given rows it transposes them itself, a Python loop over every value."""
    return [list(column) for column in zip(*rows, strict=True)] if rows else [[] for _ in range(width)]


def short(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:200]
