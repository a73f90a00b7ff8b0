"""The rows the sink holds between inserts: one batch per topic-partition, due when big or old enough."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from sinks.routes import Route


@dataclass
class Batch:
    """Rows of one topic-partition, from offset ``first`` to ``last``."""

    route: Route
    rows: list[list[Any]] = field(default_factory=list)
    # the messages behind ``rows`` (key, value, offset), for dead-lettering a row ClickHouse refuses
    sources: list[tuple[bytes | None, bytes | None, int]] = field(default_factory=list)
    first: int = -1
    last: int = -1


class Batches:
    """Every topic-partition's batch; the window starts with the first message after a flush."""

    def __init__(self, max_rows: int, max_seconds: float) -> None:
        self.max_rows = max_rows
        self.max_seconds = max_seconds
        self.pending: dict[tuple[str, int], Batch] = {}
        self.first_at: float | None = None  # monotonic time of the oldest message not yet inserted

    def batch(self, route: Route, topic: str, partition: int, offset: int) -> Batch:
        """The batch a message at ``offset`` belongs to (its offset counted, whether or not it becomes a row:
        a dead-lettered message is committed past like any other)."""
        batch = self.pending.setdefault((topic, partition), Batch(route))
        if batch.first < 0:
            batch.first = offset
        batch.last = offset
        if self.first_at is None:
            self.first_at = time.monotonic()
        return batch

    def rows(self) -> int:
        return sum(len(b.rows) for b in self.pending.values())

    def room(self) -> int:
        return max(1, self.max_rows - self.rows())

    def seconds_left(self) -> float | None:
        """Until the oldest batch is due; None with nothing pending."""
        if self.first_at is None:
            return None
        return self.first_at + self.max_seconds - time.monotonic()

    def due(self) -> bool:
        left = self.seconds_left()
        return left is not None and (self.rows() >= self.max_rows or left <= 0)

    def take(self, only: set[tuple[str, int]] | None = None) -> list[tuple[tuple[str, int], Batch]]:
        """The pending batches (of ``only`` these topic-partitions), handed over for inserting: a message
        after this starts a new batch, and the window, of its own."""
        taken = sorted((kv for kv in self.pending.items() if only is None or kv[0] in only), key=lambda kv: kv[0])
        for key, _ in taken:
            del self.pending[key]
        if not self.pending:
            self.first_at = None
        return taken
