"""The edges of the ClickHouse HTTP protocol that drivers lean on, against the real `dids warehouse`:
native compression (``compress=1``/``decompress=1``), errors in ClickHouse's format for every status,
progress headers, and sessions. Raw HTTP here, so every byte on the wire is the test's own."""

from __future__ import annotations

import base64
import json
import socket
import struct
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest
import zstandard

from deploy.warehouse.native import LZ4, NONE, ZSTD, BlockDecoder, checksum, encode, encode_block
from deploy.warehouse.process import start_warehouse
from deploy.warehouse.progress import KEYS as SERVER_ORDER
from dids.kernel.ports import free_port

pytestmark = pytest.mark.integration

ADMIN = ("default", "admin-secret-for-protocol-tests")
ANALYST = ("analyst", "analyst-secret-for-protocol-tests")
DATABASE = "dids"
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@pytest.fixture(scope="module")
def wh(tmp_path_factory):
    d = tmp_path_factory.mktemp("warehouse")
    w = start_warehouse(
        d / "data",
        free_port(),
        d / "warehouse.log",
        admin_password=ADMIN[1],
        analyst_user=ANALYST[0],
        analyst_password=ANALYST[1],
    )
    yield w
    w.stop()


def http(wh, *, path="/", method=None, data=None, params=None, headers=None, auth=ADMIN):
    """(status, headers, body) of one raw request, errors included."""
    url = f"{wh.url}{path}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
    request = urllib.request.Request(url, data=data, headers=dict(headers or {}), method=method)
    if auth:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with _NO_PROXY.open(request, timeout=60) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def unblock(wire: bytes) -> bytes:
    decoder = BlockDecoder(1 << 30)
    data = decoder.feed(wire)
    decoder.finish()
    return data


@pytest.fixture
def table(wh):
    name = f"{DATABASE}.n_{uuid.uuid4().hex[:8]}"
    create = f"CREATE TABLE {name} (id UInt32, s String) ENGINE = MergeTree ORDER BY id"
    status, _, body = http(wh, data=create.encode())
    assert status == 200, body
    yield name
    http(wh, data=f"DROP TABLE {name}".encode())


def count(wh, table: str) -> int:
    status, _, body = http(wh, params={"query": f"SELECT count() FROM {table}"})
    assert status == 200, body
    return int(body)


# --- compress=1: the response in compressed blocks -----------------------------------------------


@pytest.mark.parametrize("method_name, method", [(None, LZ4), ("zstd", ZSTD), ("none", NONE)])
def test_compress_1_answers_in_checksummed_blocks(wh, method_name, method):
    params = {"query": "SELECT number, toString(number) FROM numbers(300000)", "compress": "1"}
    if method_name:
        params["network_compression_method"] = method_name
    status, headers, wire = http(wh, params=params)
    assert status == 200, wire
    assert wire[16] == method and checksum(wire[16 : 16 + struct.unpack_from("<I", wire, 17)[0]]) == wire[:16]
    plain = http(wh, params={"query": params["query"]})[2]
    assert unblock(wire) == plain and len(plain) > 2 << 20  # several blocks, streamed in chunks
    assert "Content-Encoding" not in headers


def test_compress_1_inside_http_compression(wh):
    params = {"query": "SELECT 42", "compress": "1", "enable_http_compression": "1"}
    status, headers, wire = http(wh, params=params, headers={"Accept-Encoding": "zstd"})
    assert (status, headers["Content-Encoding"]) == (200, "zstd")
    assert unblock(zstandard.ZstdDecompressor().decompressobj().decompress(wire)) == b"42\n"


def test_compress_1_errors_are_plain_text(wh):
    """As a server answers an error before its result: the JDBC driver and clickhouse-go read it as it is."""
    status, headers, body = http(wh, params={"query": "SELECT * FROM nowhere.nothing", "compress": "1"})
    assert (status, headers["X-ClickHouse-Exception-Code"]) == (404, "81")
    assert body.startswith(b"Code: 81. DB::Exception: ") and body.endswith(b")\n")


@pytest.mark.parametrize("value", ["2", "yes"])
def test_compress_takes_only_a_boolean(wh, value):
    status, headers, body = http(wh, params={"query": "SELECT 1", "compress": value})
    assert (status, headers["X-ClickHouse-Exception-Code"]) == (400, "72")
    assert b"compress" in body


def test_an_unknown_network_compression_method(wh):
    status, headers, body = http(
        wh, params={"query": "SELECT 1", "compress": "1", "network_compression_method": "brotli"}
    )
    assert (status, headers["X-ClickHouse-Exception-Code"]) == (400, "89"), body
    assert b"UNKNOWN_COMPRESSION_METHOD" in body


# --- decompress=1: the request body in compressed blocks -----------------------------------------


@pytest.mark.parametrize("method", [LZ4, ZSTD, NONE])
def test_decompress_1_inserts_a_blocked_body(wh, table, method):
    rows = b"".join(b"%d\trow %d\n" % (i, i) for i in range(20000))
    wire = encode(f"INSERT INTO {table} FORMAT TabSeparated\n".encode() + rows, method, block_size=32 << 10)
    status, _, body = http(wh, params={"decompress": "1"}, data=wire)
    assert status == 200, body
    assert count(wh, table) == 20000
    # and a query sent the same way, with its answer compressed back
    status, _, answer = http(wh, params={"decompress": "1", "compress": "1"}, data=encode_block(b"SELECT 7", method))
    assert (status, unblock(answer)) == (200, b"7\n")


def _block(method: int, payload: bytes, raw_size: int) -> bytes:
    body = struct.pack("<BII", method, 9 + len(payload), raw_size) + payload
    return checksum(body) + body


def _hostile_bodies(table: str) -> dict[str, tuple[bytes, str]]:
    good = encode_block(f"INSERT INTO {table} FORMAT TabSeparated\n1\tx\n".encode())
    flipped = bytearray(good)
    flipped[-2] ^= 0x10
    return {
        "bad checksum": (bytes(flipped), "40"),
        "truncated block": (good[:-4], "271"),
        "size lie": (_block(NONE, f"INSERT INTO {table} FORMAT TabSeparated\n1\tx\n".encode(), 500), "271"),
        "unknown method": (_block(0x91, b"whatever", 8), "89"),
        "bomb": (struct.pack("<16sBII", b"\0" * 16, ZSTD, 9 + 64, 0xFFFF_FFFF) + b"\0" * 64, "246"),
    }


@pytest.mark.parametrize("case", ["bad checksum", "truncated block", "size lie", "unknown method", "bomb"])
def test_hostile_compressed_bodies_execute_nothing(wh, table, case):
    wire, code = _hostile_bodies(table)[case]
    status, headers, body = http(wh, params={"decompress": "1"}, data=wire)
    assert (headers["X-ClickHouse-Exception-Code"], status) == (code, 400 if code != "246" else 413), body
    assert body.startswith(f"Code: {code}. DB::Exception: ".encode())
    assert count(wh, table) == 0


# --- errors in ClickHouse's format, whatever answers ----------------------------------------------


@pytest.mark.parametrize(
    "path, method, status",
    [("/nowhere", "GET", 404), ("/ping", "POST", 405), ("/", "PUT", 405), ("/", "DELETE", 405)],
)
def test_framework_errors_are_clickhouse_errors(wh, path, method, status):
    got, headers, body = http(wh, path=path, method=method, data=b"" if method in ("POST", "PUT") else None)
    assert got == status
    assert headers["X-ClickHouse-Exception-Code"].isdigit()
    assert body.startswith(f"Code: {headers['X-ClickHouse-Exception-Code']}. DB::Exception: ".encode()), body


def test_a_multipart_field_over_the_limit_is_413(wh):
    boundary = "b0undary"
    big = "x" * (3 << 20)
    form = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"query\"\r\n\r\nSELECT '{big}'\r\n--{boundary}--\r\n"
    ).encode()
    status, headers, body = http(wh, data=form, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert status == 413, body[:200]
    assert body.startswith(f"Code: {headers['X-ClickHouse-Exception-Code']}. DB::Exception: ".encode())


# --- progress headers ------------------------------------------------------------------------------

PROGRESS_KEYS = list(SERVER_ORDER)
# at least 2 s however fast the machine (the engine sleeps 25 ms a row, one row a block), 80 rows read
SLOW = {"query": "SELECT count() FROM numbers(80) WHERE sleepEachRow(0.025) = 0", "max_block_size": "1"}
# 30 rows (0.75 s) in, it fails
FAILING = {**SLOW, "query": SLOW["query"] + " AND throwIf(number = 30) = 0"}
WITH_PROGRESS = {"send_progress_in_http_headers": "1"}


def progress_of(headers) -> list[dict[str, str]]:
    return [json.loads(value) for value in headers.get_all("X-ClickHouse-Progress") or []]


def assert_growing(progress: list[dict[str, str]]) -> None:
    """Every header has a server's keys in a server's order, and no count ever goes down."""
    assert all(list(p) == PROGRESS_KEYS for p in progress), progress
    for key in PROGRESS_KEYS:
        values = [int(p[key]) for p in progress]
        assert values == sorted(values), (key, values)


def test_progress_headers_on_request(wh, table):
    """What the engine reports, in the header clients read it from; a short query has one, at its end."""
    rows = b"".join(b"%d\tx\n" % i for i in range(1234))
    params = {"query": f"INSERT INTO {table} FORMAT TabSeparated", "send_progress_in_http_headers": "1"}
    status, headers, body = http(wh, params=params, data=rows)
    assert status == 200, body
    progress = progress_of(headers)
    assert progress and int(progress[-1]["written_rows"]) == 1234
    query = {"query": f"SELECT id FROM {table} ORDER BY id", "send_progress_in_http_headers": "1"}
    status, headers, body = http(wh, params=query)
    assert (status, body.count(b"\n")) == (200, 1234)
    summary = json.loads(headers["X-ClickHouse-Summary"])
    progress = progress_of(headers)
    assert progress[-1] == summary and int(summary["read_rows"]) == int(summary["result_rows"]) == 1234
    assert http(wh, params={"query": query["query"]})[1].get_all("X-ClickHouse-Progress") is None


def test_a_long_query_sends_progress_while_it_runs(wh):
    status, headers, body = http(wh, params={**SLOW, **WITH_PROGRESS})
    assert (status, body) == (200, b"80\n")
    progress = progress_of(headers)
    assert len(progress) > 2
    assert_growing(progress)
    assert int(progress[0]["read_rows"]) < 80 <= int(progress[0]["total_rows_to_read"])  # sent mid-query
    assert progress[-1] == json.loads(headers["X-ClickHouse-Summary"])  # the totals come last
    assert (progress[-1]["read_rows"], progress[-1]["result_rows"]) == ("80", "1")


def test_progress_headers_come_first_and_the_rest_closes_the_block(wh):
    """On the wire: the status line and the query's own headers, the progress lines as the query runs,
    then the result's headers and its body framed by its length."""
    params = urllib.parse.urlencode({**SLOW, **WITH_PROGRESS})
    token = base64.b64encode(f"{ADMIN[0]}:{ADMIN[1]}".encode()).decode()
    with socket.create_connection((wh.host, wh.port), timeout=60) as conn:
        conn.sendall(
            f"GET /?{params} HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {token}\r\nConnection: close\r\n\r\n".encode()
        )
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    names = [line.split(":", 1)[0] for line in lines[1:]]
    assert lines[0] == "HTTP/1.1 200 OK" and body == b"80\n"
    assert names[:3] == ["X-ClickHouse-Query-Id", "X-ClickHouse-Timezone", "X-ClickHouse-Server-Display-Name"]
    first_progress, summary = names.index("X-ClickHouse-Progress"), names.index("X-ClickHouse-Summary")
    assert first_progress == 3 and set(names[first_progress:summary]) == {"X-ClickHouse-Progress"}
    assert summary - first_progress > 2 and "Content-Length: 3" in lines[summary:]
    others = [name for name in names if name != "X-ClickHouse-Progress"]
    assert len(others) == len(set(others))  # what went out first is not sent again


@pytest.mark.parametrize(
    "compression",
    [{}, {"enable_http_compression": "1"}, {"compress": "1"}],
    ids=["plain", "http compression", "compress=1"],
)
def test_an_error_after_progress_began_keeps_200_and_gives_the_code(wh, compression):
    """As a server: the status went out with the first progress header; the error's code joins the header
    block and its text is the body, plain (as every error of the warehouse, so every client reads it)."""
    status, headers, body = http(
        wh, params={**FAILING, **WITH_PROGRESS, **compression}, headers={"Accept-Encoding": "zstd"}
    )
    assert (status, headers["X-ClickHouse-Exception-Code"]) == (200, "395")  # FUNCTION_THROW_IF_VALUE_IS_NON_ZERO
    assert body.startswith(b"Code: 395. DB::Exception: ") and body.endswith(b")\n")
    assert b"(FUNCTION_THROW_IF_VALUE_IS_NON_ZERO) (version " in body
    assert "Content-Encoding" not in headers and headers["Content-Type"].startswith("text/plain")
    progress = progress_of(headers)
    assert progress and int(progress[-1]["read_rows"]) < 80
    assert_growing(progress)
    # the same failure without progress headers keeps its real status
    status, headers, body = http(wh, params={**FAILING, **compression})
    assert (status, headers["X-ClickHouse-Exception-Code"]) == (500, "395")


@pytest.mark.parametrize(
    "compression, decode",
    [
        ({}, lambda b: b),
        (
            {"enable_http_compression": "1"},
            lambda b: zstandard.ZstdDecompressor().decompressobj().decompress(b),
        ),
        ({"compress": "1"}, unblock),
    ],
    ids=["plain", "http compression", "compress=1"],
)
def test_progress_then_a_streamed_result(wh, compression, decode):
    """The first chunk comes after 0.3 s (the engine sleeps that long a block): progress until the body
    starts, then the result streamed whole, in every compression."""
    query = "SELECT number, sleep(0.3) FROM numbers(300000)"
    status, headers, wire = http(
        wh, params={"query": query, **WITH_PROGRESS, **compression}, headers={"Accept-Encoding": "zstd"}
    )
    assert status == 200 and headers["Transfer-Encoding"] == "chunked"
    assert decode(wire) == b"".join(b"%d\t0\n" % n for n in range(300000))
    progress = progress_of(headers)
    assert len(progress) > 2 and int(progress[0]["result_rows"]) == 0
    assert_growing(progress)


def test_progress_in_a_session(wh):
    sid = f"s-{uuid.uuid4().hex}"
    assert in_session(wh, "SET max_block_size = 1", sid)[0] == 200
    status, headers, body = in_session(wh, SLOW["query"], sid, **WITH_PROGRESS)
    assert (status, body) == (200, b"80\n")
    assert len(progress_of(headers)) > 2
    # asked for with SET, as a session keeps any setting: its later answers carry them, unless the URL says no
    assert in_session(wh, "SET send_progress_in_http_headers = 1", sid)[0] == 200
    status, headers, body = in_session(wh, SLOW["query"], sid)
    assert (status, body) == (200, b"80\n") and len(progress_of(headers)) > 2
    status, headers, body = in_session(wh, SLOW["query"], sid, send_progress_in_http_headers="0")
    assert (status, body, progress_of(headers)) == (200, b"80\n", [])


@pytest.mark.parametrize("value", ["-5", "abc", "1.5", "", "1e3", "\uff11\uff10\uff10", "99999999999999999999999"])
def test_hostile_progress_intervals_are_refused(wh, value):
    params = {"query": "SELECT 1", **WITH_PROGRESS, "http_headers_progress_interval_ms": value}
    status, headers, body = http(wh, params=params)
    assert (status, headers["X-ClickHouse-Exception-Code"]) == (400, "72")
    assert b"http_headers_progress_interval_ms" in body and b"whole number of milliseconds" in body


def test_a_progress_interval_below_100_ms_counts_as_100(wh):
    """A server would send one at every step asked with 0 (80 here); this one no more often than every
    100 ms, counted on the engine's own clock of the query."""
    status, headers, body = http(wh, params={**SLOW, **WITH_PROGRESS, "http_headers_progress_interval_ms": "0"})
    assert (status, body) == (200, b"80\n")
    progress = progress_of(headers)
    assert 2 < len(progress) <= int(progress[-1]["elapsed_ns"]) / 100_000_000 + 3
    # the largest interval there is: only the last header, with the totals
    status, headers, body = http(
        wh, params={**SLOW, **WITH_PROGRESS, "http_headers_progress_interval_ms": str((1 << 64) - 1)}
    )
    assert (status, body, len(progress_of(headers))) == (200, b"80\n", 1)


def test_a_query_id_that_would_break_the_header_block_is_refused(wh):
    for query_id in ["a\r\nX-Injected: 1", "a\nX-Injected: 1", "bell\x07", "nul\x00"]:
        status, headers, body = http(wh, params={"query": "SELECT 1", "query_id": query_id, **WITH_PROGRESS})
        assert (status, headers["X-ClickHouse-Exception-Code"]) == (400, "36"), body
        assert "X-Injected" not in headers and headers["X-ClickHouse-Query-Id"] != query_id
    status, headers, _ = http(wh, params={"query": "SELECT 1", "query_id": "mine-\u00e9"})
    assert (status, headers["X-ClickHouse-Query-Id"].encode("latin-1").decode()) == (200, "mine-\u00e9")


# --- sessions ---------------------------------------------------------------------------------------


def in_session(wh, sql: str, session: str, auth=ADMIN, **params):
    return http(wh, params={"session_id": session, **params}, data=sql.encode(), auth=auth)


def test_a_session_keeps_its_settings_and_database(wh):
    sid = f"s-{uuid.uuid4().hex}"
    assert in_session(wh, "SET max_threads = 3, output_format_decimal_trailing_zeros = 1", sid)[0] == 200
    assert in_session(wh, "USE system", sid)[0] == 200
    status, _, body = in_session(wh, "SELECT getSetting('max_threads'), currentDatabase()", sid)
    assert (status, body) == (200, b"3\tsystem\n")
    # a URL setting applies to its own request only, over the session's
    status, _, body = in_session(wh, "SELECT getSetting('max_threads')", sid, max_threads="5")
    assert (status, body) == (200, b"5\n")
    assert in_session(wh, "SELECT getSetting('max_threads')", sid)[2] == b"3\n"
    # another session, and no session, start afresh
    assert in_session(wh, "SELECT currentDatabase()", f"s-{uuid.uuid4().hex}")[2] == b"default\n"
    assert http(wh, data=b"SELECT getSetting('max_threads') = 3")[2] == b"0\n"
    # the same id from another account is not this session
    assert in_session(wh, "SELECT currentDatabase()", sid, auth=ANALYST)[2] == b"default\n"


def test_session_check_and_timeout(wh):
    sid = f"s-{uuid.uuid4().hex}"
    status, headers, body = in_session(wh, "SELECT 1", sid, session_check="1")
    assert (status, headers["X-ClickHouse-Exception-Code"]) == (404, "372"), body
    assert in_session(wh, "SET max_threads = 2", sid, session_timeout="0")[0] == 200
    # a timeout of 0 ends the session as soon as its request is answered
    status, headers, _ = in_session(wh, "SELECT 1", sid, session_check="1")
    assert (status, headers["X-ClickHouse-Exception-Code"]) == (404, "372")
    assert in_session(wh, "SET max_threads = 2", sid, session_timeout="600")[0] == 200
    status, _, body = in_session(wh, "SELECT getSetting('max_threads')", sid, session_check="1")
    assert (status, body) == (200, b"2\n")


@pytest.mark.parametrize(
    "params, code",
    [
        ({"session_id": "x" * 129}, "36"),
        ({"session_id": "a b"}, "36"),
        ({"session_id": "ok", "session_timeout": "3601"}, "374"),
        ({"session_id": "ok", "session_timeout": "-1"}, "374"),
        ({"session_id": "ok", "session_check": "maybe"}, "72"),
    ],
)
def test_hostile_session_parameters(wh, params, code):
    status, headers, body = http(wh, params={"query": "SELECT 1", **params})
    assert (status, headers["X-ClickHouse-Exception-Code"]) == (400, code), body


def code_of(reply) -> str | None:
    return reply[1].get("X-ClickHouse-Exception-Code")


def test_a_sessions_temporary_tables_live_as_long_as_it(wh):
    sid = f"s-{uuid.uuid4().hex}"
    assert in_session(wh, "SET max_threads = 3", sid)[0] == 200
    assert in_session(wh, "USE system", sid)[0] == 200
    assert in_session(wh, "CREATE TEMPORARY TABLE tmp (x UInt32, s String)", sid)[0] == 200
    assert in_session(wh, "INSERT INTO tmp VALUES (1, 'a'), (2, 'b')", sid)[0] == 200
    # data in the body, in the session's own handle
    rows = b"".join(b"%d\tn%d\n" % (i, i) for i in range(3, 100_003))
    status, _, body = http(wh, params={"session_id": sid, "query": "INSERT INTO tmp FORMAT TabSeparated"}, data=rows)
    assert status == 200, body
    status, _, body = in_session(
        wh, "SELECT count(), sum(x), getSetting('max_threads'), currentDatabase() FROM tmp", sid
    )
    assert (status, body) == (200, b"100002\t5000250003\t3\tsystem\n")
    # a result streamed in several chunks, then the session goes on on the same handle
    status, _, body = in_session(wh, "SELECT x FROM tmp ORDER BY x", sid)
    assert (status, body.count(b"\n")) == (200, 100_002)
    # a URL setting (and database) is its own request's only, on the session's handle too
    status, _, body = in_session(
        wh, "SELECT getSetting('max_threads'), currentDatabase()", sid, max_threads="5", database="dids"
    )
    assert (status, body) == (200, b"5\tdids\n")
    status, _, body = in_session(wh, "SELECT getSetting('max_threads'), currentDatabase(), count() FROM tmp", sid)
    assert (status, body) == (200, b"3\tsystem\t100002\n")
    # no other session, no request outside one, and no other account sees it
    other = f"s-{uuid.uuid4().hex}"
    assert code_of(in_session(wh, "SELECT count() FROM tmp", other)) == "60"
    assert code_of(http(wh, data=b"SELECT count() FROM tmp")) == "60"
    assert code_of(in_session(wh, "SELECT count() FROM tmp", sid, auth=ANALYST)) is not None
    # a GET is readonly=2 in a session as anywhere: its temporary tables yes, other tables no
    status, _, body = http(wh, params={"session_id": sid, "query": "INSERT INTO tmp VALUES (0, 'get')"})
    assert status == 200, body
    status, _, body = http(
        wh, params={"session_id": sid, "query": f"CREATE TABLE {DATABASE}.by_get (x UInt8) ENGINE = Memory"}
    )
    assert (status, body[:9]) == (403, b"Code: 164"), body
    assert in_session(wh, "DROP TEMPORARY TABLE tmp", sid)[0] == 200
    assert code_of(in_session(wh, "SELECT count() FROM tmp", sid)) == "60"
    # a timeout of 0 ends the session, and its temporary tables with it
    assert in_session(wh, "CREATE TEMPORARY TABLE gone (x UInt8)", sid, session_timeout="0")[0] == 200
    assert code_of(in_session(wh, "SELECT count() FROM gone", sid)) == "60"


@pytest.fixture(scope="module")
def analyst_tables(wh):
    """An analyst view (by name) and a table the analyst may not read, with a row each."""
    for sql in (
        f"CREATE TABLE IF NOT EXISTS {DATABASE}.activity_daily (modality String, n UInt32) ENGINE = Memory",
        f"INSERT INTO {DATABASE}.activity_daily VALUES ('CT', 7), ('MR', 5)",
        f"CREATE TABLE IF NOT EXISTS {DATABASE}.examinations (nhs_number String) ENGINE = Memory",
        f"INSERT INTO {DATABASE}.examinations VALUES ('9434765919')",
    ):
        status, _, body = http(wh, data=sql.encode())
        assert status == 200, body


def test_the_analyst_keeps_temporary_tables_in_a_session(wh, analyst_tables):
    sid = f"s-{uuid.uuid4().hex}"
    # without a session a temporary table would die unused: refused as before
    assert code_of(http(wh, data=b"CREATE TEMPORARY TABLE t (x UInt8)", auth=ANALYST)) == "164"
    create = f"CREATE TEMPORARY TABLE busy AS SELECT modality, n * 2 AS n2 FROM {DATABASE}.activity_daily"
    assert in_session(wh, create, sid, auth=ANALYST)[0] == 200
    assert in_session(wh, "INSERT INTO busy VALUES ('US', 1)", sid, auth=ANALYST)[0] == 200
    join = (
        f"SELECT modality, a.n, b.n2 FROM busy AS b LEFT JOIN {DATABASE}.activity_daily AS a USING modality ORDER BY 1"
    )
    status, _, body = in_session(wh, join, sid, auth=ANALYST)
    assert (status, body) == (200, b"CT\t7\t14\nMR\t5\t10\nUS\t0\t1\n")
    # its limits hold on the session's handle: a lower one it set, and no SETTINGS clause to raise one
    assert in_session(wh, "SET max_result_rows = 2", sid, auth=ANALYST)[0] == 200
    assert code_of(in_session(wh, "SELECT * FROM busy", sid, auth=ANALYST)) == "396"
    reply = in_session(wh, "SELECT * FROM busy SETTINGS max_result_rows = 0", sid, auth=ANALYST)
    assert code_of(reply) == "164", reply[2]
    assert code_of(in_session(wh, "SET max_execution_time = 100000", sid, auth=ANALYST)) == "164"
    assert in_session(wh, "DROP TABLE busy", sid, auth=ANALYST)[0] == 200


@pytest.mark.parametrize(
    "sql, code",
    [
        # tables of the DIDS database stay out of reach, whatever the temporary table is made of or named
        (f"CREATE TEMPORARY TABLE m (nhs_number String) ENGINE = Merge({DATABASE}, '^examinations$')", "497"),
        (
            f"CREATE TEMPORARY TABLE m (n String) ENGINE = Buffer({DATABASE}, examinations, 1, 1, 1, 1, 1, 1, 1)",
            "497",
        ),
        (f"CREATE TEMPORARY TABLE m ENGINE = Memory AS SELECT * FROM {DATABASE}.examinations", "497"),
        ("CREATE TEMPORARY TABLE m ENGINE = Memory AS SELECT * FROM merge('^exam')", "497"),
        ("CREATE TEMPORARY TABLE m (x UInt8) ENGINE = File(TSV, '/etc/passwd')", "497"),
        (f"INSERT INTO {DATABASE}.examinations VALUES ('x')", "164"),
        (f"CREATE TABLE {DATABASE}.mine (x UInt8) ENGINE = Memory", "164"),
        ("DROP TABLE activity_daily", "164"),
    ],
)
def test_hostile_temporary_tables_of_the_analyst(wh, analyst_tables, sql, code):
    sid = f"s-{uuid.uuid4().hex}"
    assert in_session(wh, f"USE {DATABASE}", sid, auth=ANALYST)[0] == 200
    assert in_session(wh, "CREATE TEMPORARY TABLE mine (x UInt8)", sid, auth=ANALYST)[0] == 200
    reply = in_session(wh, sql, sid, auth=ANALYST)
    assert code_of(reply) == code, reply[2]
    assert http(wh, data=f"SELECT count() FROM {DATABASE}.examinations".encode())[2] == b"1\n"
    assert code_of(http(wh, data=f"EXISTS TABLE {DATABASE}.mine".encode())) is None


def test_a_temporary_table_never_opens_the_table_it_shadows_or_names(wh, analyst_tables):
    sid = f"s-{uuid.uuid4().hex}"
    assert in_session(wh, f"USE {DATABASE}", sid, auth=ANALYST)[0] == 200
    # named like the raw table: the bare name is the temporary table while it lives, the raw table after
    assert in_session(wh, "CREATE TEMPORARY TABLE examinations (nhs_number String)", sid, auth=ANALYST)[0] == 200
    assert in_session(wh, "SELECT count() FROM examinations", sid, auth=ANALYST)[2] == b"0\n"
    assert in_session(wh, "DROP TABLE examinations", sid, auth=ANALYST)[0] == 200
    assert code_of(in_session(wh, "SELECT count() FROM examinations", sid, auth=ANALYST)) == "497"
    # a dotted name is never taken for a temporary table: `dids.examinations` unquoted is the database's
    dotted = f"CREATE TEMPORARY TABLE `{DATABASE}.examinations` (nhs_number String)"
    assert in_session(wh, dotted, sid, auth=ANALYST)[0] == 200
    assert code_of(in_session(wh, f"SELECT * FROM {DATABASE}.examinations", sid, auth=ANALYST)) == "497"
    assert code_of(in_session(wh, f"INSERT INTO {DATABASE}.examinations VALUES ('x')", sid, auth=ANALYST)) == "164"


def test_what_the_read_only_analyst_may_do_in_a_session(wh):
    sid = f"s-{uuid.uuid4().hex}"
    # output settings and lower limits: kept, as a readonly=2 profile with constraints allows
    assert in_session(wh, "SET output_format_json_quote_64bit_integers = 1", sid, auth=ANALYST)[0] == 200
    assert in_session(wh, "SET max_result_rows = 5", sid, auth=ANALYST)[0] == 200
    status, _, body = in_session(wh, "SELECT number FROM numbers(3) FORMAT JSONEachRow", sid, auth=ANALYST)
    assert (status, body) == (200, b'{"number":"0"}\n{"number":"1"}\n{"number":"2"}\n')
    status, headers, _ = in_session(wh, "SELECT number FROM numbers(10)", sid, auth=ANALYST)
    assert (status, headers["X-ClickHouse-Exception-Code"]) == (500, "396")  # TOO_MANY_ROWS_OR_BYTES: its own limit
    # a raised limit, a write, readonly itself: refused, and nothing of them kept
    for sql in ("SET max_execution_time = 100000", "SET readonly = 0", "SET allow_ddl = 1"):
        status, headers, body = in_session(wh, sql, sid, auth=ANALYST)
        assert (status, headers["X-ClickHouse-Exception-Code"]) == (403, "164"), (sql, body)
    status, headers, _ = in_session(wh, "CREATE TABLE dids.mine (x UInt8) ENGINE = Memory", sid, auth=ANALYST)
    assert (status, headers["X-ClickHouse-Exception-Code"]) == (403, "164")
    status, _, body = in_session(wh, "SELECT getSetting('max_execution_time') < 100000", sid, auth=ANALYST)
    assert (status, body) == (200, b"1\n")


@pytest.mark.parametrize(
    "raw",
    [
        b"NOT HTTP AT ALL\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * (70 << 10) + b"\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: banana\r\n\r\n",
    ],
)
def test_requests_the_framework_cannot_parse_are_refused_in_clickhouse_format(wh, raw):
    with socket.create_connection((wh.host, wh.port), timeout=30) as conn:
        conn.sendall(raw)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.split(b" ", 2)[1] == b"400", answer[:300]
    assert b"X-ClickHouse-Exception-Code: 36" in head
    assert body.startswith(b"Code: 36. DB::Exception: Bad Request") and body.endswith(b"(BAD_ARGUMENTS)\n")
