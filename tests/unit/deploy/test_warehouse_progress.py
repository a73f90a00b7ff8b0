"""Progress headers without the engine: the header block written in two parts by a real aiohttp server
(bytes on a real socket), the one read shared by every request due for a header, and the
``http_headers_progress_interval_ms`` setting. The engine's side is in
tests/integration/test_warehouse_protocol.py."""

from __future__ import annotations

import asyncio
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from aiohttp import web

from deploy.warehouse.errors import QueryError
from deploy.warehouse.head import OpenHead
from deploy.warehouse.params import RequestParams
from deploy.warehouse.progress import KEYS, Board, Reporter
from dids.kernel.ports import free_port

FIRST = {"X-ClickHouse-Query-Id": "q1", "X-ClickHouse-Timezone": "UTC"}


async def _exchange(handler, request: bytes) -> bytes:
    """What a real aiohttp server, on a loopback port, answers to ``request`` (read until it closes)."""
    app = web.Application()
    app.router.add_route("*", "/", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request)
        answer = await reader.read()
        writer.close()
        return answer
    finally:
        await runner.cleanup()


GET_11 = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"


def _head_and_body(answer: bytes) -> tuple[list[str], bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return head.decode().split("\r\n"), body


def test_a_body_after_lines_added_to_the_open_block():
    async def handler(request):
        head = OpenHead(request, FIRST)
        head.add("X-ClickHouse-Progress", '{"read_rows":"1"}')
        await asyncio.sleep(0.05)
        head.add("X-ClickHouse-Progress", '{"read_rows":"2"}')
        return head.response(body=b"42\n", headers={**FIRST, "Content-Type": "text/plain", "X-Last": "yes"})

    lines, body = _head_and_body(asyncio.run(_exchange(handler, GET_11)))
    assert lines[:5] == [
        "HTTP/1.1 200 OK",
        "X-ClickHouse-Query-Id: q1",
        "X-ClickHouse-Timezone: UTC",
        'X-ClickHouse-Progress: {"read_rows":"1"}',
        'X-ClickHouse-Progress: {"read_rows":"2"}',
    ]
    rest = lines[5:]
    assert {"Content-Type: text/plain", "X-Last: yes", "Content-Length: 3"} <= set(rest)
    assert not any(line.startswith(("X-ClickHouse-Query-Id", "X-ClickHouse-Timezone", "HTTP/")) for line in rest)
    assert body == b"42\n"


def test_a_streamed_body_after_the_open_block_is_chunked_whole():
    async def handler(request):
        head = OpenHead(request, FIRST)
        head.add("X-ClickHouse-Progress", "{}")
        response = head.stream({"Content-Type": "text/plain"})
        await response.prepare(request)
        for piece in (b"one\n", b"two\n"):
            await response.write(piece)
        await response.write_eof()
        return response

    lines, body = _head_and_body(asyncio.run(_exchange(handler, GET_11)))
    assert lines[0] == "HTTP/1.1 200 OK" and "Transfer-Encoding: chunked" in lines
    assert body == b"4\r\none\n\r\n4\r\ntwo\n\r\n0\r\n\r\n"


def test_http_1_0_keeps_its_version_and_ends_the_body_by_closing():
    async def handler(request):
        head = OpenHead(request, FIRST)
        response = head.stream({"Content-Type": "text/plain"})
        await response.prepare(request)
        await response.write(b"all of it\n")
        await response.write_eof()
        return response

    lines, body = _head_and_body(asyncio.run(_exchange(handler, b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")))
    assert lines[0] == "HTTP/1.0 200 OK" and not any(line.startswith("Transfer-Encoding") for line in lines)
    assert body == b"all of it\n"


@pytest.mark.parametrize("value", ["a\r\nX-Injected: 1", "a\nb", "nul\x00", "del\x7f"])
def test_a_header_value_with_a_control_character_is_never_written(value):
    async def handler(request):
        head = OpenHead(request, FIRST)
        with pytest.raises(ValueError):
            head.add("X-ClickHouse-Progress", value)
        with pytest.raises(ValueError):
            OpenHead(request, {"X-ClickHouse-Query-Id": value})
        return head.response(body=b"ok\n", headers={"Content-Type": "text/plain"})

    answer = asyncio.run(_exchange(handler, GET_11))
    assert b"X-Injected" not in answer and answer.count(b"HTTP/1.1 200 OK") == 1 and answer.endswith(b"\r\n\r\nok\n")


def test_the_block_cannot_grow_once_handed_over():
    async def handler(request):
        head = OpenHead(request, FIRST)
        response = head.response(body=b"x", headers={"Content-Type": "text/plain"})
        with pytest.raises(RuntimeError):
            head.add("X-ClickHouse-Progress", "{}")
        return response

    assert asyncio.run(_exchange(handler, GET_11)).endswith(b"\r\n\r\nx")


# --- one read for every request due for a header ---------------------------------------------------


class _Reads:
    """Stands for Engine.progress: counts its calls, each held until released."""

    def __init__(self, result=None, error: Exception | None = None):
        self.calls = 0
        self.release = threading.Event()
        self.result = result or {}
        self.error = error

    def __call__(self):
        self.calls += 1
        self.release.wait(10)
        if self.error:
            raise self.error
        return self.result


def test_requests_due_together_share_one_read_and_a_new_one_waits_for_the_floor():
    async def scenario():
        reads = _Reads({"tag": {"read_rows": 5}})
        with ThreadPoolExecutor(2) as pool:
            board = Board(reads, pool, min_age=0.2)
            first, second = board.fresh(), board.fresh()
            assert first is second
            reads.release.set()
            assert await first == {"tag": {"read_rows": 5}}
            assert board.fresh() is first  # younger than the floor: the same values
            await asyncio.sleep(0.25)
            assert await board.fresh() == {"tag": {"read_rows": 5}}
        return reads.calls

    assert asyncio.run(scenario()) == 2


def test_a_failed_read_is_no_progress_not_an_error():
    async def scenario():
        reads = _Reads(error=QueryError(1001, "engine closed", "STD_EXCEPTION"))
        reads.release.set()
        with ThreadPoolExecutor(1) as pool:
            return await Board(reads, pool).fresh()

    assert asyncio.run(scenario()) == {}


def test_headers_never_go_down_and_the_last_is_the_totals():
    """The engine may not show the query between two of its calls; the totals may count less than the
    running query showed (total_rows_to_read is an estimate while it runs)."""

    async def handler(request):
        reads = _Reads()
        reads.release.set()
        with ThreadPoolExecutor(1) as pool:
            reporter = Reporter(request, Board(reads, pool, min_age=0), "tag", 0.0, FIRST)
            query = asyncio.get_running_loop().create_future()  # still running
            for result in ({"tag": {"read_rows": 10, "total_rows_to_read": 100}}, {}, {"tag": {"read_rows": 30}}):
                reads.result = result
                await reporter.report(query)
            last = reporter.final({"read_rows": "40", "total_rows_to_read": "40", "result_rows": "1"})
            return reporter.head.response(body=last.encode(), headers={"Content-Type": "application/json"})

    lines, body = _head_and_body(asyncio.run(_exchange(handler, GET_11)))
    sent = [json.loads(line.split(": ", 1)[1]) for line in lines if line.startswith("X-ClickHouse-Progress")]
    assert [list(p) for p in sent] == [list(KEYS)] * 3
    assert [(p["read_rows"], p["total_rows_to_read"]) for p in sent] == [("10", "100"), ("10", "100"), ("30", "100")]
    assert json.loads(body) == {
        **dict.fromkeys(KEYS, "0"),
        "read_rows": "40",
        "total_rows_to_read": "100",
        "result_rows": "1",
    }


def test_a_query_that_ends_before_the_read_sends_no_header_of_its_own():
    async def handler(request):
        reads = _Reads()  # never released in time
        with ThreadPoolExecutor(1) as pool:
            reporter = Reporter(request, Board(reads, pool), "tag", 0.0, FIRST)
            query = asyncio.get_running_loop().create_future()
            query.set_result(None)
            await reporter.report(query)
            reads.release.set()
            assert reporter.head is None
        return web.Response(text="done")

    assert asyncio.run(_exchange(handler, GET_11)).endswith(b"done")


# --- the setting --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(None, 0.1), ("0", 0.1), ("99", 0.1), ("100", 0.1), ("250", 0.25), (str((1 << 64) - 1), ((1 << 64) - 1) / 1000)],
)
def test_the_progress_interval_has_a_floor_of_100_ms(value, seconds):
    values = {"send_progress_in_http_headers": "1"} | (
        {} if value is None else {"http_headers_progress_interval_ms": value}
    )
    rp = RequestParams.parse(values, {})
    assert (rp.progress_headers, rp.progress_interval, rp.settings) == (True, seconds, {})


@pytest.mark.parametrize(
    "value", ["", "-1", "abc", "1.5", "1e3", " 100", "\uff11\uff10\uff10", str(1 << 64), "9" * 5000]
)
def test_a_progress_interval_that_is_no_uint64_is_refused(value):
    with pytest.raises(QueryError) as error:
        RequestParams.parse({"http_headers_progress_interval_ms": value}, {})
    assert (error.value.code, error.value.http_status) == (72, 400)
    assert "http_headers_progress_interval_ms" in error.value.message and len(error.value.message) < 200


@pytest.mark.parametrize("query_id", ["a\r\nX-Injected: 1", "a\nb", "nul\x00", "esc\x1b"])
def test_a_query_id_with_a_control_character_is_refused(query_id):
    with pytest.raises(QueryError) as error:
        RequestParams.parse({"query_id": query_id}, {})
    assert (error.value.code, error.value.http_status) == (36, 400)


def test_a_query_id_of_printable_text_is_kept():
    assert RequestParams.parse({"query_id": "mine-\u00e9\tx"}, {}).query_id == "mine-\u00e9\tx"
