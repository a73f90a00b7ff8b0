"""The warehouse's HTTP pieces that need no engine: parameters, accounts, bodies, errors."""

from __future__ import annotations

import asyncio
import base64
import gzip
import textwrap
import zlib

import lz4.frame
import pytest
import zstandard

from deploy.warehouse.auth import Accounts, User, authorize, authorize_settings
from deploy.warehouse.body import Decoder, choose_encoding, decoded, decoder_for, prepare
from deploy.warehouse.errors import QueryError
from deploy.warehouse.guard import parse_ast, writes_only
from deploy.warehouse.params import RequestParams
from deploy.warehouse.sql import analyze
from dids.kernel.errors import ConfigError

ACCOUNTS = Accounts(admin_password="pw", analyst_user="analyst", analyst_password="an")


def test_params_split_into_transport_settings_and_query_parameters():
    rp = RequestParams.parse(
        {
            "query": "SELECT {x:UInt8}",
            "database": "dids",
            "param_x": "1",
            "max_threads": "2",
            "insert_deduplication_token": "tok",
            "wait_end_of_query": "1",
            "send_progress_in_http_headers": "1",
            "cancel_http_readonly_queries_on_client_close": "1",
            "client_protocol_version": "54405",
            "enable_http_compression": "1",
            "session_id": "abc",
        },
        {},
    )
    assert rp.settings == {"max_threads": "2", "insert_deduplication_token": "tok"}
    assert rp.params == {"x": "1"}
    assert (rp.database, rp.compress_response, rp.query) == ("dids", True, "SELECT {x:UInt8}")


def test_a_parameter_that_cannot_be_a_setting_is_refused():
    with pytest.raises(QueryError) as error:
        RequestParams.parse({"max threads; DROP": "1"}, {})
    assert error.value.code == 115


@pytest.mark.parametrize(
    ("account", "method", "wanted", "level"),
    [
        (0, "POST", None, 0),
        (0, "GET", None, 2),
        (0, "POST", 1, 1),
        (1, "POST", None, 1),
        (1, "GET", 1, 1),
        (0, "GET", 1, 1),
    ],
)
def test_readonly_level(account, method, wanted, level):
    assert RequestParams(readonly=wanted).readonly_level(account, method) == level


@pytest.mark.parametrize(("account", "method", "wanted"), [(1, "POST", 0), (1, "POST", 2), (0, "GET", 0)])
def test_readonly_cannot_be_loosened(account, method, wanted):
    with pytest.raises(QueryError) as error:
        RequestParams(readonly=wanted).readonly_level(account, method)
    assert error.value.code == 164


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def _who(user: User) -> tuple[str, int]:
    return user.name, user.readonly


def test_credentials_the_three_clickhouse_ways():
    assert _who(ACCOUNTS.authenticate(_basic("default", "pw"), {})) == ("default", 0)
    assert _who(ACCOUNTS.authenticate({"X-ClickHouse-User": "analyst", "X-ClickHouse-Key": "an"}, {})) == ("analyst", 1)
    assert _who(ACCOUNTS.authenticate({}, {"user": "analyst", "password": "an"})) == ("analyst", 1)


def test_there_is_no_admin_without_a_password():
    with pytest.raises(ConfigError):
        Accounts(admin_password="")


def test_each_account_has_its_locked_limits():
    analyst = ACCOUNTS.authenticate(_basic("analyst", "an"), {})
    assert analyst.profile["max_execution_time"] == 60 and analyst.profile["result_overflow_mode"] == "throw"
    assert ACCOUNTS.authenticate(_basic("default", "pw"), {}).profile["max_memory_usage"] > 0


def test_analyst_may_send_only_output_settings():
    analyst = User("analyst", 1)
    authorize_settings(analyst, {"output_format_json_quote_64bit_integers": "1", "date_time_output_format": "iso"})
    for name in ("max_memory_usage", "readonly", "allow_ddl", "max_threads"):
        with pytest.raises(QueryError) as error:
            authorize_settings(analyst, {name: "1"})
        assert error.value.code == 164
    assert authorize_settings(User("default", 0, {"max_execution_time": 3600}), {"max_threads": "64"}) == {
        "max_execution_time": 3600
    }


def test_analyst_may_lower_a_limit_but_not_raise_it():
    analyst = ACCOUNTS.authenticate(_basic("analyst", "an"), {})
    assert authorize_settings(analyst, {"max_execution_time": "7"})["max_execution_time"] == 7
    for value in ("61", "0", "-1", "1e9", "lots"):
        with pytest.raises(QueryError):
            authorize_settings(analyst, {"max_execution_time": value})


@pytest.mark.parametrize(
    ("headers", "params"),
    [
        (_basic("default", "nope"), {}),
        (_basic("analyst", "pw"), {}),
        ({}, {}),
        ({}, {"user": "root", "password": "pw"}),
    ],
)
def test_wrong_credentials(headers, params):
    with pytest.raises(QueryError) as error:
        ACCOUNTS.authenticate(headers, params)
    assert (error.value.code, error.value.http_status) == (516, 401)


@pytest.mark.parametrize("sql", ["INSERT INTO t VALUES (1)", "CREATE TABLE x (a Int8) ENGINE = Memory", "DROP TABLE t"])
def test_analyst_may_not_write(sql):
    with pytest.raises(QueryError) as error:
        authorize(User("analyst", 1), analyze(sql), 1)
    assert (error.value.code, error.value.http_status) == (164, 403)


def test_temporary_tables_are_what_readonly_2_may_still_write():
    """A read-only account (in a session) and a readonly=2 request may write temporary tables; readonly=1 may not."""
    insert = analyze("INSERT INTO t VALUES (1)")
    authorize(User("analyst", 1), insert, 1, temporary=True)
    authorize(User("default", 0), insert, 2, temporary=True)  # the admin's GET
    for user, level in ((User("default", 0), 2), (User("default", 0), 1), (User("analyst", 1), 1)):
        with pytest.raises(QueryError) as error:
            authorize(user, insert, level)  # an ordinary table
        assert error.value.code == 164
    with pytest.raises(QueryError) as error:
        authorize(User("default", 0), insert, 1, temporary=True)  # readonly=1 asked for in the URL
    assert error.value.code == 164


def test_only_a_single_bare_temporary_target_counts_as_a_temporary_write():
    def nodes(text):
        return parse_ast(textwrap.dedent(text).strip("\n"))

    temporary = frozenset({"t", "dids", "examinations", "dids.examinations"})
    assert writes_only(nodes("InsertQuery   (children 1)\n Identifier t\n"), "INSERT", temporary)
    columns = "InsertQuery   (children 2)\n Identifier t\n ExpressionList (children 1)\n  Identifier x\n"
    assert writes_only(nodes(columns), "INSERT", temporary)
    assert writes_only(nodes("DropQuery  t (children 1)\n Identifier t\n"), "DROP", temporary)
    assert not writes_only(nodes("InsertQuery   (children 1)\n Identifier t\n"), "INSERT", frozenset())
    # db.t is two identifiers; `db.t` quoted is one dotted name: neither is a temporary table here
    qualified = "InsertQuery   (children 2)\n Identifier dids\n Identifier examinations\n"
    assert not writes_only(nodes(qualified), "INSERT", temporary)
    dotted = "InsertQuery   (children 1)\n Identifier dids.examinations\n"
    assert not writes_only(nodes(dotted), "INSERT", temporary)
    function = "InsertQuery   (children 1)\n Function null (children 1)\n  ExpressionList (children 1)\n   Literal 1\n"
    assert not writes_only(nodes(function), "INSERT", temporary)
    several = "DropQuery   (children 1)\n ExpressionList (children 2)\n  TableIdentifier t\n  TableIdentifier x\n"
    assert not writes_only(nodes(several), "DROP", temporary)
    assert not writes_only(nodes("TruncateQuery  t (children 1)\n Identifier t\n"), "TRUNCATE", temporary)


def test_admin_may_write_but_nobody_writes_outfiles():
    authorize(User("default", 0), analyze("DROP TABLE t"), 0)
    authorize(User("analyst", 1), analyze("SELECT count() FROM t"), 1)
    with pytest.raises(QueryError) as error:
        authorize(User("default", 0), analyze("SELECT 1 INTO OUTFILE 'x'"), 0)
    assert error.value.code == 448


@pytest.mark.parametrize(
    ("encoding", "frame"),
    [
        ("lz4", lz4.frame.compress),
        ("zstd", zstandard.ZstdCompressor().compress),
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
    ],
)
def test_decoder_reads_concatenated_frames_in_any_chunking(encoding, frame):
    blocks = [bytes([i]) * 3000 for i in range(4)]
    blob = b"".join(frame(b) for b in blocks)
    decoder = Decoder(encoding)
    out = b"".join(decoder.feed(blob[i : i + 13]) for i in range(0, len(blob), 13))
    decoder.finish()
    assert out == b"".join(blocks)


def test_decoder_errors():
    with pytest.raises(QueryError) as truncated:
        decoder = Decoder("lz4")
        decoder.feed(lz4.frame.compress(b"x" * 1000)[:-6])
        decoder.finish()
    assert truncated.value.code == 271
    with pytest.raises(QueryError) as unknown:
        decoder_for("snappy")
    assert unknown.value.code == 36
    assert decoder_for("identity") is None and decoder_for(None) is None


def test_response_encoding_follows_the_clients_order():
    assert choose_encoding("lz4,zstd,br,gzip,deflate") == "lz4"
    assert choose_encoding("br, gzip;q=0.8") == "gzip"
    assert choose_encoding("gzip;q=0, zstd") == "zstd"
    assert choose_encoding("br") is None and choose_encoding(None) is None


async def _chunks(*parts: bytes):
    for part in parts:
        yield part


def test_prepare_spools_insert_data_and_keeps_queries_in_memory(tmp_path):
    data = b"1,a\n" * 1000
    body = [data[:100], data[100:2000], data[2000:]]
    prepared = asyncio.run(prepare("INSERT INTO t FORMAT CSV", _chunks(*body), tmp_path, _allow))
    assert prepared.data_file is not None and prepared.data_file.read_bytes() == data
    assert prepared.sql == f"INSERT INTO t  FROM INFILE '{prepared.data_file}' FORMAT CSV".encode()
    prepared.discard()
    assert not prepared.data_file.exists()
    query = asyncio.run(prepare("", _chunks(b"SELECT ", b"1"), tmp_path, _allow))
    assert (query.sql, query.data_file) == (b"SELECT 1", None)
    glued = asyncio.run(prepare("SELECT", _chunks(b"2"), tmp_path, _allow))  # query param + "\n" + body
    assert glued.sql == b"SELECT\n2"


def test_prepare_streams_a_large_compressed_body_to_disk(tmp_path):
    rows = b"12345,some text\n" * 200_000  # 3.2 MB: beyond the in-memory prefix
    blob = lz4.frame.compress(b"INSERT INTO t (a, b) FORMAT CSV\n" + rows)
    chunks = [blob[i : i + 65536] for i in range(0, len(blob), 65536)]
    prepared = asyncio.run(prepare("", decoded(_chunks(*chunks), Decoder("lz4")), tmp_path, _allow))
    assert prepared.data_file is not None
    assert prepared.data_file.read_bytes() == rows and prepared.data_bytes == len(rows)
    assert prepared.sql.startswith(b"INSERT INTO t (a, b)  FROM INFILE ")
    prepared.discard()


def test_engine_errors_are_read_back_to_code_and_name():
    nested = QueryError.from_engine(
        RuntimeError(
            "Code: 164. DB::Exception: Code: 164. DB::Exception: Cannot modify 'readonly' setting in readonly mode. "
            "(READONLY) (version 26.9.2.1). (READONLY)"
        )
    )
    assert (nested.code, nested.name, nested.http_status) == (164, "READONLY", 403)
    assert nested.body("26.9") == (
        "Code: 164. DB::Exception: Cannot modify 'readonly' setting in readonly mode. (READONLY) (version 26.9)\n"
    )
    missing = QueryError.from_engine(RuntimeError("Code: 60. DB::Exception: Unknown table 'x'. (UNKNOWN_TABLE)"))
    assert (missing.code, missing.http_status) == (60, 404)
    odd = QueryError.from_engine(RuntimeError("segfault-ish"))
    assert (odd.code, odd.http_status) == (1001, 500)


async def _allow(sql, statement):
    return None


def test_prepare_authorizes_the_header_before_spooling_a_byte(tmp_path):
    seen = []

    async def refuse(sql, statement):
        seen.append(sql)
        raise QueryError(164, "no", "READONLY")

    bomb = decoded(
        _chunks(zstandard.ZstdCompressor().compress(b"INSERT INTO t FORMAT CSV\n" + b"0" * (8 << 20))), Decoder("zstd")
    )
    with pytest.raises(QueryError):
        asyncio.run(prepare("", bomb, tmp_path, refuse))
    assert seen == ["INSERT INTO t FORMAT CSV"] and not list(tmp_path.iterdir())


def test_prepare_caps_the_spooled_data(tmp_path):
    body = _chunks(b"INSERT INTO t FORMAT CSV\n", b"1\n" * (1 << 20), b"1\n" * (1 << 20))
    with pytest.raises(QueryError) as error:
        asyncio.run(prepare("", body, tmp_path, _allow, max_spool=1 << 20))
    assert "send it in parts" in error.value.message and not list(tmp_path.iterdir())
    assert error.value.http_status == 413


@pytest.mark.parametrize(
    "text",
    [
        "",
        "SelectWithUnionQuery (children 1)\n",  # a child short
        "SelectWithUnionQuery (children 1)\n ExpressionList (children 2)\n  Literal 1\n",
        " ExpressionList (children 1)\n  Literal 1\n",  # no root at the top
        "Literal 1\nLiteral 2\n",  # two roots
        "SelectWithUnionQuery (children 1)\n   Literal 1\n",  # a level skipped
    ],
)
def test_a_parse_tree_cut_short_is_refused_not_read(text):
    with pytest.raises(QueryError) as error:
        parse_ast(text)
    assert error.value.code == 497
