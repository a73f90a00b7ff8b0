"""`dids warehouse` for real: a subprocess on a free port with its own data directory, driven by
clickhouse-connect itself and by raw HTTP, exactly as the sink, notebooks and curl use it."""

from __future__ import annotations

import base64
import gzip
import json
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import datetime

import clickhouse_connect
import lz4.frame
import pandas as pd
import pyarrow as pa
import pytest
from clickhouse_connect.driver.exceptions import DatabaseError

from deploy.warehouse.process import WarehouseError, start_warehouse
from dids.kernel.ports import free_port

pytestmark = pytest.mark.integration

ADMIN_PASSWORD = "admin-secret"
ANALYST = ("analyst", "analyst-secret")
DATABASE = "dids"
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@pytest.fixture(scope="module")
def wh(tmp_path_factory):
    d = tmp_path_factory.mktemp("warehouse")
    w = start_warehouse(
        d / "data",
        free_port(),
        d / "warehouse.log",
        admin_password=ADMIN_PASSWORD,
        analyst_user=ANALYST[0],
        analyst_password=ANALYST[1],
    )
    yield w
    w.stop()
    assert not w.alive()


def client(wh, *, compress=True, user="default", password=ADMIN_PASSWORD, **kwargs):
    return clickhouse_connect.get_client(
        host=wh.host, port=wh.port, username=user, password=password, database=DATABASE, compress=compress, **kwargs
    )


@pytest.fixture(scope="module")
def admin(wh):
    return client(wh)


@pytest.fixture
def table(admin):
    """A fresh MergeTree table (deduplication on, like the sink's tables); dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:8]}"
    admin.command(
        f"CREATE TABLE {name} (id UInt32, name String, ts DateTime, v Nullable(Float64)) "
        "ENGINE = MergeTree ORDER BY id SETTINGS non_replicated_deduplication_window = 100"
    )
    yield name
    admin.command(f"DROP TABLE IF EXISTS {name}")


def http(wh, path="/", *, data=None, params=None, headers=None, auth=("default", ADMIN_PASSWORD)):
    """(status, headers, body) of one raw request, errors included."""
    url = f"{wh.url}{path}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
    request = urllib.request.Request(url, data=data, headers=dict(headers or {}))
    if auth:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with _NO_PROXY.open(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


ROWS = [[1, "a", datetime(2024, 1, 1, 12), 1.5], [2, "b", datetime(2024, 1, 2), None]]
COLUMNS = ["id", "name", "ts", "v"]


# --- raw HTTP, the way curl talks to ClickHouse ---------------------------------------------


def test_ping_and_health(wh):
    assert http(wh, "/ping", auth=None)[::2] == (200, b"Ok.\n")
    assert http(wh, "/", auth=None)[::2] == (200, b"Ok.\n")
    status, _, body = http(wh, "/health", auth=None)
    assert (status, json.loads(body)) == (200, {"status": "ok"})  # to anyone: up or down, nothing else
    status, _, body = http(wh, "/health")
    health = json.loads(body)
    assert status == 200 and health["status"] == "ok" and health["pid"] == wh.pid
    assert health["data_dir"] == str(wh.data_dir)


def test_get_query_returns_tab_separated(wh):
    status, headers, body = http(wh, params={"query": "SELECT 1"})
    assert (status, body) == (200, b"1\n")
    assert headers["X-ClickHouse-Format"] == "TabSeparated"
    assert headers["X-ClickHouse-Timezone"]
    assert json.loads(headers["X-ClickHouse-Summary"])["read_rows"] == "1"


def test_post_body_query_and_format_clause(wh):
    status, headers, body = http(wh, data=b"SELECT number, toString(number) FROM numbers(3)")
    assert (status, body) == (200, b"0\t0\n1\t1\n2\t2\n")
    status, headers, body = http(wh, data=b"SELECT 7 AS x FORMAT JSONEachRow")
    assert (status, json.loads(body)) == (200, {"x": 7})
    assert headers["X-ClickHouse-Format"] == "JSONEachRow"
    status, _, body = http(wh, data=b"SELECT 1 AS a, 'b' AS b", params={"default_format": "CSVWithNames"})
    assert (status, body) == (200, b'"a","b"\n1,"b"\n')


def test_query_param_plus_body_is_insert_data(wh, table):
    csv = b"1,one,2024-01-01 00:00:00,\\N\n2,two,2024-01-02 00:00:00,2.5\n"
    status, headers, _ = http(wh, data=csv, params={"query": f"INSERT INTO {DATABASE}.{table} FORMAT CSV"})
    assert status == 200 and "X-ClickHouse-Format" not in headers
    assert json.loads(headers["X-ClickHouse-Summary"])["written_rows"] == "2"
    tsv = b"INSERT INTO " + f"{DATABASE}.{table}".encode() + b" (id, name) FORMAT TSV\n3\tthree\n"
    assert http(wh, data=tsv)[0] == 200
    values = f"INSERT INTO {DATABASE}.{table} (id, name) VALUES (4, 'fo;ur'), (5, concat('fi', 've'))".encode()
    assert http(wh, data=values)[0] == 200
    json_rows = b'{"id": 6, "name": "six"}\n{"name": "seven", "id": 7}\n'
    assert http(wh, data=json_rows, params={"query": f"INSERT INTO {DATABASE}.{table} FORMAT JSONEachRow"})[0] == 200
    _, _, body = http(wh, params={"query": f"SELECT id, name FROM {DATABASE}.{table} ORDER BY id FORMAT CSV"})
    assert body.decode().splitlines() == [
        '1,"one"',
        '2,"two"',
        '3,"three"',
        '4,"fo;ur"',
        '5,"five"',
        '6,"six"',
        '7,"seven"',
    ]


def test_compressed_request_and_response(wh, table):
    data = gzip.compress(b"10,ten,2024-01-01 00:00:00,1\n")
    status, _, _ = http(
        wh,
        data=data,
        params={"query": f"INSERT INTO {DATABASE}.{table} FORMAT CSV"},
        headers={"Content-Encoding": "gzip"},
    )
    assert status == 200
    query = {"query": f"SELECT name FROM {DATABASE}.{table}", "enable_http_compression": "1"}
    status, headers, body = http(wh, params=query, headers={"Accept-Encoding": "lz4, gzip"})
    assert (status, headers["Content-Encoding"]) == (200, "lz4")
    assert lz4.frame.decompress(body) == b"ten\n"
    _, headers, body = http(wh, params={"query": "SELECT 1"}, headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in headers and body == b"1\n"  # no enable_http_compression: plain, like ClickHouse
    status, headers, body = http(wh, data=b"not lz4", params={"query": "SELECT 1"}, headers={"Content-Encoding": "lz4"})
    assert (status, headers["X-ClickHouse-Exception-Code"]) == (400, "271")


def test_errors_come_back_as_clickhouse_sends_them(wh):
    status, headers, body = http(wh, params={"query": "SELECT * FROM no_such_table"})
    assert (status, headers["X-ClickHouse-Exception-Code"]) == (404, "60")
    assert body.startswith(b"Code: 60. DB::Exception: ") and b"(UNKNOWN_TABLE)" in body
    status, headers, _ = http(wh, data=b"SELECT 1; DROP DATABASE dids")
    assert (status, headers["X-ClickHouse-Exception-Code"]) == (400, "62")
    assert http(wh, params={"query": f"SELECT count() FROM system.databases WHERE name = '{DATABASE}'"})[2] == b"1\n"
    status, headers, _ = http(wh, params={"query": "SELECT 1", "no_such_setting": "1"})
    assert (status, headers["X-ClickHouse-Exception-Code"]) == (404, "115")
    status, headers, _ = http(wh, params={"query": "CREATE TABLE via_get (a Int8) ENGINE = Memory"})
    assert (status, headers["X-ClickHouse-Exception-Code"]) == (403, "164")  # GET is read-only, as in ClickHouse
    status, headers, _ = http(wh, data=b"SELECT 1 INTO OUTFILE '/tmp/out.tsv'")
    assert headers["X-ClickHouse-Exception-Code"] == "448"


def test_credentials_in_headers_and_url_params(wh):
    assert http(
        wh,
        params={"query": "SELECT currentUser() != ''"},
        auth=None,
        headers={"X-ClickHouse-User": "default", "X-ClickHouse-Key": ADMIN_PASSWORD},
    )[::2] == (200, b"1\n")
    params = {"query": "SELECT 2", "user": ANALYST[0], "password": ANALYST[1]}
    assert http(wh, params=params, auth=None)[::2] == (200, b"2\n")
    status, headers, _ = http(wh, params={"query": "SELECT 3"}, auth=None)  # default user, no password
    assert (status, headers["X-ClickHouse-Exception-Code"]) == (401, "516")


def test_metrics(wh):
    http(wh, params={"query": "SELECT 1"})
    http(wh, params={"query": "SELECT * FROM missing_table_for_metrics"})
    status, _, body = http(wh, "/metrics", auth=None)
    text = body.decode()
    assert status == 200
    assert 'dids_warehouse_requests_total{kind="query",status="200"}' in text
    assert 'dids_warehouse_errors_total{code="60",kind="query"}' in text
    assert "dids_warehouse_request_seconds_bucket" in text


# --- clickhouse-connect, the way the sink and notebooks talk to it --------------------------


@pytest.mark.parametrize("compress", [True, False, "lz4", "zstd", "gzip"])
def test_clickhouse_connect_round_trip(wh, table, compress):
    c = client(wh, compress=compress)
    assert c.server_version and c.command("SELECT currentDatabase()") == DATABASE
    summary = c.insert(table, ROWS, column_names=COLUMNS)
    assert summary.written_rows == 2
    assert c.query(f"SELECT * FROM {table} ORDER BY id").result_rows == [tuple(r) for r in ROWS]
    c.insert_arrow(
        table, pa.table({"id": [3, 4], "name": ["c", "d"], "ts": [datetime(2024, 1, 3)] * 2, "v": [None, 2.0]})
    )
    c.insert_df(table, pd.DataFrame({"id": [5], "name": ["e"], "ts": [pd.Timestamp("2024-01-05")], "v": [3.0]}))
    assert c.command(f"SELECT count() FROM {table}") == 5
    df = c.query_df(f"SELECT id, name FROM {table} ORDER BY id")
    assert list(df["name"]) == ["a", "b", "c", "d", "e"]
    arrow = c.query_arrow(f"SELECT id, v FROM {table} ORDER BY id")
    assert arrow.column("v").to_pylist() == [1.5, None, None, 2.0, 3.0]
    batches = c.query_arrow_stream(f"SELECT id FROM {table} ORDER BY id")
    with batches:
        assert sum(b.num_rows for b in batches) == 5


@pytest.mark.parametrize("compress", [True, False])
def test_clickhouse_connect_reads_through_progress_headers(wh, compress):
    """clickhouse-connect asks for progress headers by itself (every 10 to 120 s); here every 200 ms, on a
    query of 2 s, a streamed result whose first chunk comes late, and a query failing after its
    progress headers began (status 200 then, and the exception code among the headers)."""
    c = client(wh, compress=compress)
    progress = {"send_progress_in_http_headers": 1, "http_headers_progress_interval_ms": 200}
    with pytest.raises(DatabaseError) as refused:  # the settings reach the warehouse
        c.query("SELECT 1", settings={**progress, "http_headers_progress_interval_ms": "soon"})
    assert refused.value.code == 72
    slow = "SELECT count() FROM numbers(80) WHERE sleepEachRow(0.025) = 0"
    result = c.query(slow, settings={**progress, "max_block_size": 1})
    assert result.result_rows == [(80,)] and result.summary["read_rows"] == "80"
    streamed = c.query("SELECT number, sleep(0.3) FROM numbers(300000)", settings=progress)
    assert len(streamed.result_rows) == 300000 and streamed.result_rows[-1] == (299999, 0)
    with pytest.raises(DatabaseError) as failed:
        c.query(slow + " AND throwIf(number = 30) = 0", settings={**progress, "max_block_size": 1})
    assert failed.value.code == 395 and "FUNCTION_THROW_IF_VALUE_IS_NON_ZERO" in str(failed.value)
    assert c.command("SELECT 1") == 1  # and the connection is good for the next query


def test_command_results_and_ddl(admin, table):
    assert admin.command(f"SELECT count() FROM {table}") == 0
    assert admin.command(f"SELECT name FROM system.tables WHERE database = '{DATABASE}' AND name = '{table}'") == table
    assert admin.command("SELECT 1, 'x'") == ["1", "x"]
    assert admin.command(f"SELECT id FROM {table}") == ""  # a result set with no rows
    ddl = admin.command(f"ALTER TABLE {table} ADD COLUMN extra UInt8 DEFAULT 0")
    assert not isinstance(ddl, (str, int, list))  # no result set: a QuerySummary
    assert "'extra'" in admin.command(f"SELECT groupArray(name) FROM system.columns WHERE table = '{table}'")


def test_column_probe_and_empty_results(admin, table):
    assert admin.query(f"SELECT * FROM {table} LIMIT 0").column_names == tuple(COLUMNS)
    assert admin.query(f"SELECT id FROM {table} WHERE id > 5").result_rows == []
    assert len(admin.query_df(f"SELECT id FROM {table}")) == 0


def test_bad_insert_data_is_refused_and_nothing_is_left_behind(wh, admin, table):
    with pytest.raises(DatabaseError) as bad:
        admin.raw_insert(table, ["id", "name"], "1,one\nnot-a-number,two\n", fmt="CSV")
    assert bad.value.code in (27, 6, 72)  # a parse error, as ClickHouse reports it
    assert http(wh, params={"query": f"SELECT count() FROM {DATABASE}.{table}"})[2] == b"0\n"
    assert list((wh.data_dir / "http_spool").iterdir()) == []


def test_server_side_parameters(admin):
    result = admin.query(
        "SELECT {s:String} AS s, {n:UInt32} AS n, {a:Array(String)} AS a, {d:DateTime} AS d",
        parameters={"s": "it's a\ttab \\ back", "n": 42, "a": ["x", "y'z"], "d": datetime(2024, 5, 6, 7, 8, 9)},
    )
    assert result.result_rows == [("it's a\ttab \\ back", 42, ["x", "y'z"], datetime(2024, 5, 6, 7, 8, 9))]
    big = "x" * 6000  # long parameters make clickhouse-connect switch to a multipart form body
    assert admin.query("SELECT length({s:String})", parameters={"s": big}).result_rows == [(6000,)]


def test_per_request_settings_do_not_leak(wh, admin):
    default = admin.command("SELECT getSetting('max_threads')")
    assert admin.command("SELECT getSetting('max_threads')", settings={"max_threads": 1}) == 1
    assert admin.command("SELECT getSetting('max_threads')") == default
    # clickhouse-connect sends a session_id of its own by default: a SET lasts for that session, as on a
    # server, and reaches no other client; without a session a SET lasts for its own request only
    other = client(wh, autogenerate_session_id=False)
    admin.command("SET max_threads = 1")
    try:
        assert admin.command("SELECT getSetting('max_threads')") == 1
        assert other.command("SELECT getSetting('max_threads')") == default
        other.command("SET max_threads = 1")
        assert other.command("SELECT getSetting('max_threads')") == default
    finally:
        admin.command(f"SET max_threads = {default}")
    assert admin.command("SELECT 1", settings={"readonly": 1}) == 1
    with pytest.raises(DatabaseError) as refused:
        admin.command("CREATE TABLE ro_test (a Int8) ENGINE = Memory", settings={"readonly": 1})
    assert refused.value.code == 164
    admin.command("CREATE TABLE IF NOT EXISTS rw_test (a Int8) ENGINE = Memory")  # readonly did not stick
    admin.command("DROP TABLE rw_test")


def test_large_chunked_insert(admin, table):
    n = 200_000
    rows = ([i, f"name-{i}", datetime(2024, 1, 1), i / 2] for i in range(n))
    summary = admin.insert(table, list(rows), column_names=COLUMNS)
    assert summary.written_rows == n
    assert admin.query(f"SELECT count(), sum(id), uniqExact(name) FROM {table}").result_rows == [
        (n, n * (n - 1) // 2, n)
    ]


def test_dedup_token_is_honoured(admin, table):
    for _ in range(2):
        admin.insert(table, ROWS, column_names=COLUMNS, settings={"insert_deduplication_token": "topic-0-100-199"})
    assert admin.command(f"SELECT count() FROM {table}") == 2
    admin.insert(table, ROWS, column_names=COLUMNS, settings={"insert_deduplication_token": "topic-0-200-299"})
    assert admin.command(f"SELECT count() FROM {table}") == 4


def test_unknown_table_raises_database_error(admin):
    with pytest.raises(DatabaseError) as missing:
        admin.query("SELECT * FROM does_not_exist")
    assert missing.value.code == 60
    with pytest.raises(DatabaseError) as syntax:
        admin.command("SELEKT 1")
    assert syntax.value.code == 62


def test_wrong_password_is_refused(wh):
    with pytest.raises(DatabaseError) as refused:
        client(wh, password="wrong")
    assert refused.value.code == 516
    with pytest.raises(DatabaseError):
        client(wh, user="nobody", password=ADMIN_PASSWORD)


def test_analyst_reads_but_cannot_write(wh, admin, table):
    admin.insert(table, ROWS, column_names=COLUMNS)
    admin.command(f"CREATE OR REPLACE VIEW analyst_examinations AS SELECT * FROM {table}")  # an analyst view
    analyst = client(wh, user=ANALYST[0], password=ANALYST[1])
    assert analyst.command("SELECT count() FROM analyst_examinations") == 2
    assert analyst.query_df("SELECT name FROM dids.analyst_examinations ORDER BY id")["name"].tolist() == ["a", "b"]
    refused = [
        lambda: analyst.insert(table, ROWS, column_names=COLUMNS),
        lambda: analyst.command(f"INSERT INTO {table} (id) VALUES (9)"),
        lambda: analyst.command("CREATE TABLE analyst_table (a Int8) ENGINE = Memory"),
        lambda: analyst.command(f"DROP TABLE {table}"),
        lambda: analyst.command(f"TRUNCATE TABLE {table}"),
        lambda: analyst.command(f"ALTER TABLE {table} DELETE WHERE 1"),
        lambda: analyst.command("SET readonly = 0"),
        lambda: analyst.command("INSERT INTO FUNCTION file('/tmp/analyst.csv', 'CSV') SELECT 1"),
    ]
    for attempt in refused:
        with pytest.raises(DatabaseError) as error:
            attempt()
        assert error.value.code in (164, 497), error.value  # READONLY, or ACCESS_DENIED to the base table
    # a setting in the URL may lower one of the analyst's limits (Grafana sends max_execution_time)
    params = {"query": "SELECT getSetting('max_execution_time')", "max_execution_time": "7"}
    assert http(wh, params=params, auth=ANALYST)[::2] == (200, b"7\n")
    # clickhouse-connect refuses to send `readonly` for a read-only user itself; the server does too
    status, headers, _ = http(wh, params={"query": "SELECT 1", "readonly": "0"}, auth=ANALYST)
    assert (status, headers["X-ClickHouse-Exception-Code"]) == (403, "164")
    assert admin.command(f"SELECT count() FROM {table}") == 2
    assert admin.command("EXISTS TABLE analyst_table") == 0


def test_concurrent_queries_from_8_threads(wh, table, admin):
    admin.insert(table, [[i, str(i), datetime(2024, 1, 1), float(i)] for i in range(1000)], column_names=COLUMNS)
    results: dict[int, list] = {}
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            c = client(wh)
            got = []
            for j in range(20):
                got.append(
                    c.command(
                        f"SELECT sum(id) FROM {table} WHERE id < 1000 AND id % 8 = {k}",
                        settings={"max_threads": 1 + j % 2},
                    )
                )
                c.insert(table, [[100_000 + k * 100 + j, "x", datetime(2024, 1, 1), None]], column_names=COLUMNS)
            results[k] = got
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    for k in range(8):
        expected = sum(i for i in range(1000) if i % 8 == k)
        assert results[k] == [expected] * 20
    assert admin.command(f"SELECT count() FROM {table}") == 1000 + 8 * 20


# --- the process manager --------------------------------------------------------------------


def test_second_warehouse_on_a_taken_port_fails_clearly(wh, tmp_path):
    with pytest.raises(WarehouseError) as failed:
        start_warehouse(tmp_path / "data", wh.port, tmp_path / "second.log", admin_password="x", timeout=30)
    assert "warehouse" in str(failed.value) and str(tmp_path / "second.log") in str(failed.value)
    assert http(wh, "/ping", auth=None)[0] == 200  # the first one is untouched


def test_second_warehouse_on_the_same_data_fails_clearly(wh, tmp_path):
    with pytest.raises(WarehouseError) as failed:
        start_warehouse(wh.data_dir, free_port(), tmp_path / "same-data.log", admin_password="x", timeout=30)
    assert "another `dids warehouse` using this data directory" in str(failed.value)
    assert http(wh, params={"query": "SELECT 1"})[2] == b"1\n"  # the owner is untouched


def test_stop_closes_the_engine_and_data_survives_a_restart(tmp_path):
    port = free_port()
    first = start_warehouse(tmp_path / "data", port, tmp_path / "w.log", admin_password=ADMIN_PASSWORD, timeout=60)
    c = clickhouse_connect.get_client(host="127.0.0.1", port=port, password=ADMIN_PASSWORD, database=DATABASE)
    c.command("CREATE TABLE kept (a UInt8) ENGINE = MergeTree ORDER BY a")
    c.insert("kept", [[7]], column_names=["a"])
    first.stop()
    assert not first.alive()
    assert "chDB session on" in (tmp_path / "w.log").read_text()
    second = start_warehouse(
        tmp_path / "data", free_port(), tmp_path / "w2.log", admin_password=ADMIN_PASSWORD, timeout=60
    )
    try:
        c = clickhouse_connect.get_client(
            host="127.0.0.1", port=second.port, password=ADMIN_PASSWORD, database=DATABASE
        )
        assert c.command("SELECT sum(a) FROM kept") == 7
    finally:
        second.stop()
