"""ClickHouse's compressed blocks (deploy/warehouse/native.py), checked against blocks the real engine
wrote: a MergeTree column file is a sequence of exactly these blocks, checksums included."""

from __future__ import annotations

import struct

import lz4.block
import pytest
import zstandard
from chdb import session as chdb_session

from deploy.warehouse.errors import QueryError
from deploy.warehouse.native import LZ4, NONE, ZSTD, BlockDecoder, checksum, encode, encode_block, method_of


@pytest.fixture(scope="module")
def engine_blocks(tmp_path_factory):
    """{method byte: the first block of a column file the engine wrote with that codec}."""
    path = tmp_path_factory.mktemp("chdb")
    s = chdb_session.Session(str(path))
    try:
        for name, codec in (("l", "LZ4"), ("z", "ZSTD(1)")):
            s.query(
                f"CREATE TABLE {name} (s String CODEC({codec})) ENGINE = MergeTree ORDER BY tuple() "
                "SETTINGS min_bytes_for_wide_part = 0"
            )
            s.query(f"INSERT INTO {name} SELECT repeat('ab', number % 7) FROM numbers(1000)")
    finally:
        s.close()
    blocks = {}
    for column_file in path.rglob("s.bin"):
        data = column_file.read_bytes()
        size = struct.unpack_from("<I", data, 17)[0]
        blocks[data[16]] = data[: 16 + size]
    assert set(blocks) == {LZ4, ZSTD}
    return blocks


@pytest.mark.parametrize("method", [LZ4, ZSTD])
def test_engine_blocks_decode_and_our_checksum_is_the_engines(engine_blocks, method):
    block = engine_blocks[method]
    assert checksum(block[16:]) == block[:16]
    decoder = BlockDecoder(1 << 20)
    data = decoder.feed(block[:7]) + decoder.feed(block[7:])  # split inside the checksum
    decoder.finish()
    raw_size = struct.unpack_from("<I", block, 21)[0]
    assert len(data) == raw_size and decoder.blocks == 1
    # and what we write of that data, the engine's codec reads: same header layout, same checksum rule
    ours = encode_block(data, method)
    assert ours[16] == method and checksum(ours[16:]) == ours[:16]


@pytest.mark.parametrize("method", [LZ4, ZSTD, NONE])
def test_round_trip_in_blocks_fed_a_byte_at_a_time(method):
    data = b"".join(b"%d,row %d\n" % (i, i) for i in range(50_000))
    wire = encode(data, method, block_size=64 << 10)
    decoder = BlockDecoder(len(data))
    out = b"".join(decoder.feed(wire[i : i + 997]) for i in range(0, len(wire), 997))
    decoder.finish()
    assert out == data and decoder.blocks == -(-len(data) // (64 << 10))


def test_method_names():
    assert (method_of(None), method_of("LZ4"), method_of("zstd"), method_of("none")) == (LZ4, LZ4, ZSTD, NONE)
    with pytest.raises(QueryError) as info:
        method_of("brotli")
    assert info.value.name == "UNKNOWN_COMPRESSION_METHOD"


def _refused(wire: bytes, budget: int = 1 << 20) -> QueryError:
    decoder = BlockDecoder(budget)
    with pytest.raises(QueryError) as info:
        decoder.feed(wire)
        decoder.finish()
    return info.value


def _block(method: int, payload: bytes, raw_size: int) -> bytes:
    body = struct.pack("<BII", method, 9 + len(payload), raw_size) + payload
    return checksum(body) + body


def test_a_flipped_bit_fails_the_checksum():
    wire = bytearray(encode_block(b"SELECT 1"))
    wire[-1] ^= 1
    error = _refused(bytes(wire))
    assert (error.code, error.name) == (40, "CHECKSUM_DOESNT_MATCH")


def test_a_truncated_block():
    error = _refused(encode_block(b"SELECT 1" * 100)[:-3])
    assert (error.code, error.name) == (271, "CANNOT_DECOMPRESS") and "truncated" in error.message


def test_an_unknown_method():
    error = _refused(_block(0x91, b"abc", 3))
    assert (error.code, error.name) == (89, "UNKNOWN_COMPRESSION_METHOD")


@pytest.mark.parametrize(
    "wire",
    [
        _block(LZ4, lz4.block.compress(b"a" * 100, store_size=False), 99),  # says less than it holds
        _block(LZ4, lz4.block.compress(b"a" * 100, store_size=False), 101),  # says more
        _block(ZSTD, zstandard.ZstdCompressor().compress(b"a" * 100), 50),
        _block(ZSTD, zstandard.ZstdCompressor().compress(b"a" * 100), 150),
        _block(NONE, b"abc", 4),
        _block(LZ4, b"\xff" * 20, 100),  # not LZ4 at all
        _block(ZSTD, b"\xff" * 20, 100),
    ],
)
def test_size_lies_and_garbage(wire):
    error = _refused(wire)
    assert (error.code, error.name) == (271, "CANNOT_DECOMPRESS")


def test_a_bomb_is_refused_by_its_header_before_it_is_decoded():
    # 1 GiB declared in a few bytes: refused on the header alone (over what the request may send)
    wire = struct.pack("<16sBII", b"\0" * 16, ZSTD, 9 + 40, 1 << 30)
    error = _refused(wire, budget=64 << 20)
    assert (error.code, error.name) == (246, "TOO_LARGE_SIZE_COMPRESSED")
    # an LZ4 block declaring more than LZ4 can encode in its payload
    error = _refused(_block(LZ4, b"\x1f" * 10, 10 * 1000))
    assert error.name == "CANNOT_DECOMPRESS"
    # a ZSTD frame whose own header claims more than the block declares decodes no further than that
    big = zstandard.ZstdCompressor().compress(b"0" * (32 << 20))
    error = _refused(_block(ZSTD, big, 1000), budget=1 << 30)
    assert error.name == "CANNOT_DECOMPRESS" and "1001 bytes" in error.message


def test_a_block_over_the_size_limit_or_under_its_header():
    assert _refused(struct.pack("<16sBII", b"\0" * 16, LZ4, (1 << 30) + 1, 10)).name == "TOO_LARGE_SIZE_COMPRESSED"
    assert _refused(struct.pack("<16sBII", b"\0" * 16, LZ4, 3, 0)).name == "TOO_LARGE_SIZE_COMPRESSED"
