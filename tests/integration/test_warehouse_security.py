"""The embedded warehouse under attack from the same host, as each attack was tried before it was
closed: anonymous admin, server files read and written through every spelling of file(), the
analyst reaching base tables or raising its limits, a runaway query, a compression bomb, secrets in
the process environment, and a stop signal that never finished."""

from __future__ import annotations

import base64
import contextlib
import os
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from pathlib import Path

import lz4.frame
import pytest
import zstandard

from deploy.warehouse.process import start_warehouse
from dids.kernel.ports import free_port

pytestmark = pytest.mark.integration

ADMIN = ("default", "admin-secret-for-security-tests")
ANALYST = ("analyst", "analyst-secret-for-security-tests")
ANALYST_SECONDS = 3
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@pytest.fixture(scope="module")
def wh(tmp_path_factory):
    d = tmp_path_factory.mktemp("warehouse-security")
    os.environ["DIDS_WAREHOUSE_ANALYST_MAX_SECONDS"] = str(ANALYST_SECONDS)  # read by the child only
    try:
        w = start_warehouse(
            d / "data",
            free_port(),
            d / "warehouse.log",
            admin_password=ADMIN[1],
            analyst_user=ANALYST[0],
            analyst_password=ANALYST[1],
            database="dids",
        )
    finally:
        del os.environ["DIDS_WAREHOUSE_ANALYST_MAX_SECONDS"]
    sql(w, "CREATE TABLE dids.base (id UInt32, accession String) ENGINE = MergeTree ORDER BY id")
    sql(w, "INSERT INTO dids.base VALUES (1, 'ACC-1'), (2, 'ACC-2')")
    sql(w, "CREATE VIEW dids.activity_daily AS SELECT id FROM dids.base")  # stands for the analyst views
    yield w
    w.stop()


def sql(wh, query: str, auth=ADMIN, *, params=None, data: bytes | None = None, headers=None, timeout=60):
    """(status, exception code, body) of one POST request (the query in the body unless ``data`` is given)."""
    if data is None:
        data, query = query.encode(), ""
    url = f"{wh.url}/?" + urllib.parse.urlencode({**({"query": query} if query else {}), **(params or {})})
    request = urllib.request.Request(url, data=data, headers=dict(headers or {}))
    if auth:
        request.add_header("Authorization", "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode())
    try:
        with _NO_PROXY.open(request, timeout=timeout) as response:
            return response.status, None, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("X-ClickHouse-Exception-Code"), exc.read()


def test_no_credentials_is_no_login(wh):
    status, code, _ = sql(wh, "SELECT 1", auth=None)
    assert (status, code) == (401, "516")
    assert sql(wh, "SELECT 1", auth=("default", ""))[:2] == (401, "516")


@pytest.mark.parametrize(
    "query",
    [
        "SELECT file('/etc/hostname')",
        "SELECT `file`('/etc/hostname')",
        "SELECT \"file\"('/etc/hostname')",
        "SELECT FILE('/etc/hostname')",
        "SELECT/**/file/**/('/etc/hostname')",
        "SELECT arrayMap(p -> `file`(p), ['/etc/hostname'])",
        "SELECT * FROM file('/etc/hostname', 'RawBLOB')",
        "SELECT * FROM `file`('/etc/hostname', 'RawBLOB')",
        "SELECT * FROM url('http://127.0.0.1:1/', 'RawBLOB')",
        "SELECT * FROM s3('http://127.0.0.1:1/b/k', 'RawBLOB')",
        "SELECT * FROM Python('os')",
        "SELECT * FROM merge('dids', '.*')",
        "SELECT * FROM dids.base",
        "SELECT * FROM (SELECT * FROM `dids`.`base`)",
        "SELECT id FROM dids.activity_daily WHERE id IN (SELECT id FROM dids.base)",
        "SELECT * FROM system.processes",
        "SELECT joinGet('dids.base', 'accession', 1)",
        "DESCRIBE TABLE file('/etc/hostname', 'RawBLOB')",
        "SELECT 1 FORMAT Template SETTINGS format_template_row = '/proc/self/environ'",
        # a line break in a name would cut the checked parse tree's lines: a crafted one could dress the
        # table function that follows as an ordinary function
        "SELECT 1 AS `x\n       Literal 1`, * FROM url('http://127.0.0.1:1/', 'RawBLOB')",
        "SELECT 1 AS `x\\x0A y`, * FROM dids.base",
        'SELECT 1 AS "x\\ny", * FROM dids.base',
        # a SETTINGS clause: the analyst's limits are its account's
        "SELECT count() FROM dids.activity_daily SETTINGS max_execution_time = 100000",
    ],
)
def test_the_analyst_reads_no_file_and_no_base_table(wh, query):
    status, code, body = sql(wh, query, auth=ANALYST)
    assert status >= 400 and code in ("497", "164"), body
    assert b"ACC-" not in body and b"vm" not in body


def test_the_analyst_reads_its_views_and_may_name_them_in_with(wh):
    assert sql(wh, "SELECT count() FROM dids.activity_daily", auth=ANALYST)[::2] == (200, b"2\n")
    assert sql(wh, "SELECT count() FROM activity_daily", auth=ANALYST, params={"database": "dids"})[::2] == (
        200,
        b"2\n",
    )
    status, _, body = sql(wh, "SELECT name FROM system.tables WHERE database = 'dids' ORDER BY name", auth=ANALYST)
    assert status == 200 and b"activity_daily" in body


@pytest.mark.parametrize(
    "query",
    [
        "INSERT INTO FUNCTION file('{path}', 'RawBLOB') SELECT 'import os'",
        "INSERT INTO FUNCTION `file`('{path}', 'RawBLOB') SELECT 'import os'",
        "CREATE TABLE dids.f (s String) ENGINE = File(RawBLOB, '{path}')",
        "CREATE TABLE dids.g AS file('{path}', 'RawBLOB')",
        "CREATE TABLE dids.h AS url('http://127.0.0.1:1/', 'RawBLOB')",
        "BACKUP TABLE dids.base TO File('{path}')",
        "CREATE DICTIONARY dids.d (k UInt64) PRIMARY KEY k SOURCE(FILE(path '{path}' format 'CSV')) "
        "LAYOUT(FLAT()) LIFETIME(0)",
        "SELECT 1 INTO OUTFILE '{path}'",
        "SELECT * FROM file('/etc/hostname', 'RawBLOB')",
        "SELECT 1 AS `a\n   b`, * FROM file('/etc/hostname', 'RawBLOB') SETTINGS max_threads = 1",
    ],
)
def test_the_admin_writes_and_reads_no_file_outside_the_warehouse(wh, tmp_path, query):
    target = tmp_path / "x.pth"
    status, code, body = sql(wh, query.format(path=target))
    assert status >= 400 and code in ("497", "448"), body
    assert not target.exists()


def test_the_admin_still_creates_and_fills_local_tables(wh):
    assert sql(wh, "CREATE TABLE dids.local (a UInt8) ENGINE = MergeTree ORDER BY tuple()")[0] == 200
    assert sql(wh, "INSERT INTO dids.local SELECT number FROM numbers(3)")[0] == 200
    assert sql(wh, "SELECT sum(a) FROM dids.local")[::2] == (200, b"3\n")
    # the statement's own SETTINGS clause (its parse tree is read at readonly=2, where one is allowed)
    assert sql(wh, "SELECT getSetting('max_threads') SETTINGS max_threads = 1")[::2] == (200, b"1\n")
    # a name needing quotes and escapes, short of a line break
    assert sql(wh, 'SELECT 1 AS `a\tb,"c`')[::2] == (200, b"1\n")


def test_the_analyst_may_not_raise_its_limits(wh):
    status, code, _ = sql(wh, "SELECT 1", auth=ANALYST, params={"max_memory_usage": str(1 << 40)})
    assert (status, code) == (403, "164")
    status, code, _ = sql(wh, "SELECT 1", auth=ANALYST, params={"max_execution_time": "100000"})
    assert (status, code) == (403, "164")
    assert sql(wh, "SELECT getSetting('max_result_rows')", auth=ANALYST)[::2] == (200, b"10000000\n")


def test_a_runaway_analyst_query_ends_by_its_limit_and_blocks_no_one(wh):
    result = {}

    def runaway():
        result["answer"] = sql(wh, "SELECT count() FROM numbers(100000000000000)", auth=ANALYST, timeout=120)

    thread = threading.Thread(target=runaway)
    started = time.monotonic()
    thread.start()
    time.sleep(0.5)
    assert sql(wh, "SELECT 1")[::2] == (200, b"1\n")
    assert thread.is_alive()  # the admin was answered while the runaway query still ran
    thread.join(timeout=60)
    status, code, body = result["answer"]
    assert (status, code) == (500, "159"), body  # TIMEOUT_EXCEEDED
    print(f"\nrunaway analyst query stopped after {time.monotonic() - started:.1f}s (limit {ANALYST_SECONDS}s)")


def test_a_compression_bomb_from_the_analyst_writes_nothing(wh):
    bomb = zstandard.ZstdCompressor(level=19).compress(b"INSERT INTO dids.base FORMAT CSV\n" + b"0" * (256 << 20))
    assert len(bomb) < 64 << 10
    spool = Path(wh.data_dir) / "http_spool"
    status, code, _ = sql(wh, "", auth=ANALYST, data=bomb, headers={"Content-Encoding": "zstd"})
    assert (status, code) == (403, "164")
    assert list(spool.iterdir()) == []


def test_no_secret_in_the_warehouse_environment(wh):
    environ = Path(f"/proc/{wh.pid}/environ").read_bytes()
    for secret in (ADMIN[1], ANALYST[1]):
        assert secret.encode() not in environ
    names = {entry.split(b"=", 1)[0] for entry in environ.split(b"\0") if entry}
    assert b"DIDS_ADMIN_PASSWORD" not in names and b"DIDS_ADMIN_PASSWORD_FILE" in names
    password_file = Path(
        dict(e.split(b"=", 1) for e in environ.split(b"\0") if b"=" in e)[b"DIDS_ADMIN_PASSWORD_FILE"].decode()
    )
    assert password_file.stat().st_mode & 0o077 == 0


def test_sigterm_ends_the_warehouse_even_with_a_runaway_admin_query(tmp_path):
    w = start_warehouse(tmp_path / "data", free_port(), tmp_path / "w.log", admin_password=ADMIN[1])

    def runaway():
        with contextlib.suppress(OSError):  # the warehouse goes away under it: expected
            sql(w, "SELECT count() FROM numbers(100000000000000)", timeout=120)

    thread = threading.Thread(target=runaway, daemon=True)
    thread.start()
    time.sleep(1)
    started = time.monotonic()
    w.stop(timeout=40)  # SIGTERM, then SIGKILL only after 40 s
    took = time.monotonic() - started
    assert not w.alive()
    assert w.process.popen.returncode == 0  # it left by itself (its query killed), not by SIGKILL
    assert "chDB session on" in (tmp_path / "w.log").read_text()  # and closed the engine on its way out
    print(f"\nwarehouse with a runaway query stopped {took:.1f}s after SIGTERM")


def test_requests_beyond_the_cap_are_refused_not_queued_for_ever(tmp_path, monkeypatch):
    monkeypatch.setenv("DIDS_WAREHOUSE_MAX_QUERIES", "2")
    monkeypatch.setenv("DIDS_WAREHOUSE_ANALYST_MAX_SECONDS", "3")
    w = start_warehouse(
        tmp_path / "data", free_port(), tmp_path / "w.log", admin_password=ADMIN[1], analyst_password=ANALYST[1]
    )
    try:
        analyst = ("analyst", ANALYST[1])
        runaway = [
            threading.Thread(
                target=sql, args=(w, "SELECT count() FROM numbers(100000000000000)", analyst), kwargs={"timeout": 60}
            )
            for _ in range(2)
        ]
        for thread in runaway:
            thread.start()
        time.sleep(1)
        status, code, _ = sql(w, "SELECT 1")
        assert (status, code) == (503, "202")  # TOO_MANY_SIMULTANEOUS_QUERIES, as a server answers it
        for thread in runaway:
            thread.join(timeout=60)
        assert sql(w, "SELECT 1")[::2] == (200, b"1\n")  # the slots are free again
    finally:
        w.stop()


def test_the_admin_reads_who_ran_what_and_the_analyst_does_not(wh):
    marker = f"q{time.monotonic_ns()}"
    assert sql(wh, f"SELECT 42 AS {marker}", auth=ANALYST)[0] == 200
    assert sql(wh, f"SELECT file('/etc/hostname') AS {marker}", auth=ANALYST)[1] == "497"
    query = (
        "SELECT user, kind, http_status, exception_code FROM dids_warehouse.query_log "
        f"WHERE query LIKE '%{marker}%' AND query NOT LIKE '%query_log%' ORDER BY event_time FORMAT TSV"
    )
    expected = b"analyst\tquery\t200\t0\nanalyst\tquery\t403\t497\n"
    deadline = time.monotonic() + 30
    while (found := sql(wh, query)[2]) != expected and time.monotonic() < deadline:
        time.sleep(0.5)
    assert found == expected
    status, code, _ = sql(wh, "SELECT count() FROM dids_warehouse.query_log", auth=ANALYST)
    assert (status, code) == (403, "497")


def _raw_connection(w) -> socket.socket:
    host, port = urllib.parse.urlsplit(w.url).hostname, urllib.parse.urlsplit(w.url).port
    sock = socket.create_connection((host, port), timeout=30)
    return sock


def _read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends before it closes the connection (a timeout if it never does)."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def test_connections_beyond_the_cap_are_refused_and_idle_ones_closed(tmp_path, monkeypatch):
    monkeypatch.setenv("DIDS_WAREHOUSE_MAX_CONNECTIONS", "3")
    monkeypatch.setenv("DIDS_WAREHOUSE_IDLE_SECONDS", "2")
    w = start_warehouse(tmp_path / "data", free_port(), tmp_path / "w.log", admin_password=ADMIN[1])
    try:
        held = [_raw_connection(w) for _ in range(3)]  # open, and never a byte sent
        time.sleep(0.3)  # accepted by the server
        extra = _raw_connection(w)
        answer = _read_until_closed(extra)
        assert answer.startswith(b"HTTP/1.1 503") and b"X-ClickHouse-Exception-Code: 202" in answer
        # the silent ones are closed by the server at the deadline, without an answer; then a client gets in
        assert [_read_until_closed(sock) for sock in held] == [b"", b"", b""]
        assert sql(w, "SELECT 1")[::2] == (200, b"1\n")
    finally:
        w.stop()


def test_a_request_head_trickling_in_is_closed_at_the_deadline(tmp_path, monkeypatch):
    monkeypatch.setenv("DIDS_WAREHOUSE_IDLE_SECONDS", "2")
    w = start_warehouse(tmp_path / "data", free_port(), tmp_path / "w.log", admin_password=ADMIN[1])
    try:
        sock = _raw_connection(w)
        sock.sendall(b"GET /?query=SELECT%201 HTTP/1.1\r\nHost: x\r\n")
        closed = False
        for _ in range(40):  # a header byte every 0.25 s: 10 s of head, if it were let through
            try:
                sock.sendall(b"X")
            except OSError:
                closed = True
                break
            time.sleep(0.25)
        if not closed:
            sock.settimeout(1)
            with contextlib.suppress(OSError):
                closed = _read_until_closed(sock) == b""
        assert closed
        assert sql(w, "SELECT 1")[::2] == (200, b"1\n")
    finally:
        w.stop()


def _running_queries(wh) -> int:
    status, _, body = sql(
        wh,
        "SELECT count() FROM system.processes WHERE query LIKE '%numbers(100000000000%'"
        " AND query NOT LIKE '%system.processes%'",
    )
    assert status == 200
    return int(body)


@pytest.mark.parametrize(
    "query",
    [
        "SELECT count() FROM numbers(100000000000000)",  # runs long before its one row
        "SELECT number FROM numbers(100000000000000) WHERE number % 1000 = 0",  # a result without end
    ],
    ids=["aggregate", "streamed"],
)
def test_a_client_that_disconnects_frees_its_query(wh, query):
    """Before, a query whose client had gone kept its thread until its time limit (an admin's: 1 hour)."""
    sock = _raw_connection(wh)
    auth = base64.b64encode(f"{ADMIN[0]}:{ADMIN[1]}".encode()).decode()
    body = query.encode()
    sock.sendall(
        f"POST / HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {auth}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    deadline = time.monotonic() + 30
    while _running_queries(wh) == 0 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _running_queries(wh) == 1
    sock.close()
    deadline = time.monotonic() + 30
    while _running_queries(wh) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _running_queries(wh) == 0


def test_a_large_result_streams_whole_in_every_compression(wh):
    """Streamed in chunks (never held whole), compressed as one stream, identical to what the engine gives."""
    query = "SELECT number, toString(number * 7) FROM numbers(1500000)"
    expected = b"".join(f"{n}\t{n * 7}\n".encode() for n in range(1500000))
    for encoding, decode in [
        (None, lambda b: b),
        ("gzip", lambda b: zlib.decompress(b, 16 + zlib.MAX_WBITS)),
        ("deflate", zlib.decompress),
        ("zstd", lambda b: zstandard.ZstdDecompressor().decompressobj().decompress(b)),
        ("lz4", lz4.frame.decompress),
    ]:
        headers = {"Accept-Encoding": encoding} if encoding else {}
        params = {"enable_http_compression": "1"} if encoding else {}
        request = urllib.request.Request(
            f"{wh.url}/?" + urllib.parse.urlencode(params), data=query.encode(), headers=headers
        )
        request.add_header("Authorization", "Basic " + base64.b64encode(f"{ADMIN[0]}:{ADMIN[1]}".encode()).decode())
        with _NO_PROXY.open(request, timeout=60) as response:
            assert response.headers.get("Transfer-Encoding") == "chunked"  # not one buffered body
            assert response.headers.get("Content-Encoding") == encoding
            assert decode(response.read()) == expected, encoding


def test_an_error_after_the_first_chunk_is_in_the_body_and_the_body_is_cut(wh):
    query = "SELECT number, throwIf(number = 1200000) FROM numbers(2000000)"
    sock = _raw_connection(wh)
    auth = base64.b64encode(f"{ADMIN[0]}:{ADMIN[1]}".encode()).decode()
    sock.sendall(
        f"POST / HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {auth}\r\nContent-Length: {len(query)}\r\n\r\n".encode()
        + query.encode()
    )
    received = _read_until_closed(sock)
    assert received.startswith(b"HTTP/1.1 200") and b"Transfer-Encoding: chunked" in received
    assert b"Code: 395. DB::Exception:" in received  # FUNCTION_THROW_IF_VALUE_IS_NON_ZERO
    assert not received.endswith(b"0\r\n\r\n")  # no last chunk: the body is not whole


def test_current_user_is_the_account_that_asks(wh):
    """Before, every account was `default` to currentUser() (chDB runs all queries as its one user)."""
    assert sql(wh, "SELECT currentUser(), user()", auth=ANALYST)[::2] == (200, b"analyst\tanalyst\n")
    assert sql(wh, "SELECT currentUser()")[::2] == (200, b"default\n")


@pytest.mark.parametrize(
    "fmt",
    [
        "TSVWithNamesAndTypes",
        "TabSeparatedWithNames",
        "CSVWithNames",
        "CSVWithNamesAndTypes",
        "JSONCompactEachRowWithNamesAndTypes",
        "RowBinaryWithNamesAndTypes",  # what the JDBC driver reads
        "JSONEachRow",
        "Native",  # what clickhouse-connect and the Grafana plugin read
    ],
)
def test_a_streamed_result_is_the_engine_s_whole_result_in_every_streamed_format(wh, fmt):
    """The header each engine chunk repeats is sent once; names needing quotes or escapes included."""
    import chdb

    query = 'SELECT number AS `a\\tb`, toString(number) AS `c,"d` FROM numbers(300000)'
    expected = chdb.query(query, fmt).bytes()  # the same engine, in this process, buffered whole
    request = urllib.request.Request(f"{wh.url}/?default_format={fmt}", data=query.encode())
    request.add_header("Authorization", "Basic " + base64.b64encode(f"{ADMIN[0]}:{ADMIN[1]}".encode()).decode())
    with _NO_PROXY.open(request, timeout=60) as response:
        assert response.headers.get("Transfer-Encoding") == "chunked"
        assert response.read() == expected
