"""``X-ClickHouse-Progress`` headers while a query runs (``send_progress_in_http_headers=1``).

A request's query is found in ``system.processes`` by the tag its handle carries in ``log_comment``
(``Engine.progress``), which gives what the engine has read, written and expects to read so far.
One read of that table serves every request due for a header (``Board``): at most one read per
100 ms whatever the number of requests, and none while no request is due. That matters because
clickhouse-connect asks for progress headers on every query (every 10 to 120 s), so most queries
end before they are due and never cost a read.

Each header's values are never below the previous header's (the engine's counters only grow, but a
read may miss the query between two engine calls), and the last header, sent with the rest of the
headers, is the larger of the engine's final totals and the last header sent.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from concurrent.futures import Executor

from aiohttp import web

from deploy.warehouse.head import OpenHead
from deploy.warehouse.params import PROGRESS_FLOOR_MS

log = logging.getLogger(__name__)

# a server's order: its clients read the header as JSON, people read it in that order
KEYS = (
    "read_rows",
    "read_bytes",
    "written_rows",
    "written_bytes",
    "total_rows_to_read",
    "result_rows",
    "result_bytes",
    "elapsed_ns",
)
HEADER = "X-ClickHouse-Progress"

Snapshot = dict[str, dict[str, int]]  # tag -> counters of its running query (a subset of KEYS)


class Board:
    """The progress of the running queries, read from the engine for all requests at once."""

    def __init__(self, read: Callable[[], Snapshot], executor: Executor, *, min_age: float = PROGRESS_FLOOR_MS / 1000):
        self._read = read
        self._executor = executor
        self._min_age = min_age
        self._reading: asyncio.Future[Snapshot] | None = None
        self._started = 0.0

    def fresh(self) -> asyncio.Future[Snapshot]:
        """The read in flight, or the last one if it began less than ``min_age`` ago, or a new one."""
        loop = asyncio.get_running_loop()
        reading = self._reading
        if reading is None or (reading.done() and loop.time() - self._started >= self._min_age):
            self._started = loop.time()
            self._reading = reading = asyncio.ensure_future(self._safe_read())
        return reading

    async def _safe_read(self) -> Snapshot:
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, self._read)
        except Exception as exc:  # no progress to report is never a failure of the query
            log.warning("reading the running queries' progress failed: %s", exc)
            return {}


class Reporter:
    """One request's progress headers: one every ``interval`` seconds from the start of its query; the
    first one opens the response's header block (``OpenHead``, with ``headers``)."""

    def __init__(
        self, request: web.BaseRequest, board: Board, tag: str, interval: float, headers: Mapping[str, str]
    ) -> None:
        self.head: OpenHead | None = None
        self.interval = interval
        self._request = request
        self._board = board
        self._tag = tag
        self._headers = headers
        self._values = dict.fromkeys(KEYS, 0)
        self._due = asyncio.get_running_loop().time() + interval

    def due_in(self) -> float:
        return max(0.0, self._due - asyncio.get_running_loop().time())

    async def report(self, query: asyncio.Future) -> None:
        """If a header is due: the engine's progress of the query, unless ``query`` ends first (its final
        totals then go with the rest of the headers)."""
        loop = asyncio.get_running_loop()
        if loop.time() < self._due:
            return
        reading = self._board.fresh()
        await asyncio.wait({reading, query}, return_when=asyncio.FIRST_COMPLETED)
        if not reading.done():
            return
        self._due = loop.time() + self.interval
        self._merge(reading.result().get(self._tag, {}))
        if self.head is None:
            self.head = OpenHead(self._request, self._headers)
        self.head.add(HEADER, self._json())

    def final(self, summary: Mapping[str, str]) -> str:
        """The last header's value: the engine's totals (``X-ClickHouse-Summary``), never below the last sent."""
        self._merge({key: int(summary.get(key, 0)) for key in KEYS})
        return self._json()

    def _merge(self, counters: Mapping[str, int]) -> None:
        for key, value in counters.items():
            if key in self._values:
                self._values[key] = max(self._values[key], int(value))

    def _json(self) -> str:
        # numbers as strings, as a server writes them (a 64-bit count survives JavaScript)
        return json.dumps({key: str(self._values[key]) for key in KEYS}, separators=(",", ":"))
