"""Native blocks rewritten for a client's protocol version (deploy/warehouse/native_blocks.py), on what
the real engine writes: after every column of the type under test comes a sentinel column, which must be
found exactly where the rewrite says the column before it ended."""

from __future__ import annotations

import chdb
import pytest

from deploy.warehouse.errors import QueryError
from deploy.warehouse.native_blocks import BLOCK_INFO, for_revision

EXPRESSIONS = [
    "toUInt8(number)",
    "toInt64(number) - 5",
    "number % 2 = 0",
    "toFloat32(number) / 3",
    "toDate('2024-02-29') + number",
    "toDate32('1950-01-01') + number",
    "toDateTime('2024-02-29 10:00:00', 'Europe/London') + number",
    "toDateTime64('2024-02-29 10:00:00.123', 3, 'UTC') + number",
    "toDecimal32(number, 2)",
    "toDecimal128(number, 10)",
    "CAST(number, 'Decimal(40, 5)')",
    "generateUUIDv4()",
    "toIPv4('10.0.0.1')",
    "toIPv6('::1')",
    "toString(number)",
    "repeat('é', number)",
    "toFixedString(toString(number % 10), 3)",
    "if(number % 3 = 0, NULL, toString(number))",
    "if(number % 2 = 0, NULL, number)",
    "NULL",
    "range(number % 4)",
    "[range(number % 3), []]",
    "[if(number % 2 = 0, NULL, toString(number))]",
    "map('a', number, 'b', number + 1)",
    "tuple(number, toString(number))",
    "CAST((number, 'x'), 'Tuple(a UInt64, `b c` String)')",
    "toLowCardinality(toString(number % 5))",
    "toLowCardinality(if(number % 2 = 0, NULL, toString(number % 5)))",
    "[toLowCardinality(toString(number % 3))]",
    "CAST(number % 2 + 1, 'Enum8(\\'a, b\\' = 1, \\'c\\' = 2)')",
    "toIntervalDay(number)",
    "toUInt256(number) * 1000000000000",
]
SENTINEL = b"\x01z\x06String\x00"


@pytest.fixture(scope="module")
def conn():
    c = chdb.connect(":memory:")
    yield c
    c.close()


@pytest.mark.parametrize("expression", EXPRESSIONS)
@pytest.mark.parametrize("rows", [0, 1, 7])
def test_each_type_is_walked_to_its_exact_end(conn, expression, rows):
    sql = f"SELECT {expression} AS x, 'END' AS z FROM numbers({rows})"
    native = conn.query(sql, "Native").bytes()
    out = for_revision(native, 54460)
    if not native:  # the engine writes no block for no rows
        assert out == b""
        return
    assert out.startswith(BLOCK_INFO) and len(out) == len(native) + len(BLOCK_INFO) + 2
    assert out.endswith(SENTINEL + b"\x03END" * rows)
    assert for_revision(native, 0) == native


def test_several_blocks_each_get_their_info(conn):
    native = conn.query("SELECT number AS x FROM numbers(100000) SETTINGS max_block_size = 10000", "Native").bytes()
    out = for_revision(native, 54460)
    assert out.count(BLOCK_INFO + b"\x01\x90\x4e") == 10  # 1 column, 10000 rows, ten times
    assert len(out) == len(native) + 10 * (len(BLOCK_INFO) + 1)


def test_a_type_without_a_known_layout_is_named(conn):
    native = conn.query("SELECT CAST(1, 'Variant(UInt8, String)') AS v", "Native").bytes()
    with pytest.raises(QueryError) as info:
        for_revision(native, 54460)
    assert info.value.name == "NOT_IMPLEMENTED" and "Variant(String, UInt8)" in info.value.message


def test_a_cut_result_is_an_error_not_a_guess(conn):
    native = conn.query("SELECT toString(number) AS s FROM numbers(10)", "Native").bytes()
    with pytest.raises(QueryError):
        for_revision(native[:-3], 54460)
