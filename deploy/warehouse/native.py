"""ClickHouse's native compression over HTTP: ``compress=1`` (the response in compressed blocks) and
``decompress=1`` (the request body in compressed blocks), as the JDBC driver and clickhouse-go use it.

A block is what a server writes: a 16-byte checksum (CityHash128, the 1.0.2 version ClickHouse
keeps, of the rest of the block, low 64 bits first), a 1-byte method (0x82 LZ4, 0x90 ZSTD, 0x02
none), the compressed size including this 9-byte header, the decompressed size (both UInt32 little
endian), then the payload. LZ4 is the ``lz4`` package's block format, ZSTD ``zstandard``'s frames,
the checksum ``clickhouse-cityhash`` (the binding clickhouse-driver uses).

Reading a hostile body: every block's checksum is checked before its payload is decoded, a size that
is out of bounds (a block larger than ``MAX_BLOCK``, a decompressed size over what the request may
still send, an LZ4 ratio no encoder produces) is refused before anything is allocated for it, and a
payload that decodes to other than its declared size is refused. Each refusal is a ClickHouse error
(CHECKSUM_DOESNT_MATCH, TOO_LARGE_SIZE_COMPRESSED, UNKNOWN_COMPRESSION_METHOD, CANNOT_DECOMPRESS),
raised before the statement runs.
"""

from __future__ import annotations

import struct

import lz4.block
import zstandard
from clickhouse_cityhash.cityhash import CityHash128

from deploy.warehouse.errors import QueryError

LZ4 = 0x82
ZSTD = 0x90
NONE = 0x02
METHODS = {"lz4": LZ4, "lz4hc": LZ4, "zstd": ZSTD, "none": NONE}
CHECKSUM = 16
HEADER = 9  # method, compressed size, decompressed size
MAX_BLOCK = 1 << 30  # ClickHouse's limit on one block, compressed or not (DBMS_MAX_COMPRESSED_SIZE)
RESPONSE_BLOCK = 1 << 20  # a server's compressed write buffer: blocks of at most 1 MiB of data
LZ4_MAX_RATIO = 255  # an LZ4 sequence encodes at most 255 bytes per byte of input
_MASK = (1 << 64) - 1
_SIZES = struct.Struct("<BII")


def checksum(block: bytes | memoryview) -> bytes:
    """The 16 checksum bytes a server writes in front of ``block`` (header and payload)."""
    value = CityHash128(bytes(block))
    return struct.pack("<QQ", value >> 64, value & _MASK)


def method_of(name: str | None) -> int:
    """The method byte for a ``network_compression_method`` value (LZ4 when none is named)."""
    key = (name or "lz4").strip().lower()
    if key not in METHODS:
        raise QueryError(
            89,
            f"Unknown compression method {name!r}: network_compression_method is one of lz4, zstd, none",
            "UNKNOWN_COMPRESSION_METHOD",
        )
    return METHODS[key]


def encode_block(data: bytes | memoryview, method: int = LZ4, level: int = 1) -> bytes:
    """One compressed block of ``data`` (at most ``MAX_BLOCK`` bytes)."""
    if method == LZ4:
        payload = lz4.block.compress(data, store_size=False)
    elif method == ZSTD:
        payload = zstandard.ZstdCompressor(level=level).compress(data)
    elif method == NONE:
        payload = bytes(data)
    else:
        raise ValueError(f"unknown method byte {method:#x}")
    block = _SIZES.pack(method, HEADER + len(payload), len(data)) + payload
    return checksum(block) + block


def encode(data: bytes | memoryview, method: int = LZ4, level: int = 1, block_size: int = RESPONSE_BLOCK) -> bytes:
    """``data`` as consecutive blocks of at most ``block_size`` bytes each (nothing for no data)."""
    view = memoryview(data)
    return b"".join(encode_block(view[i : i + block_size], method, level) for i in range(0, len(view), block_size))


class BlockDecoder:
    """A request body of compressed blocks, decoded as it arrives (the interface of ``body.Decoder``).

    ``budget`` is how many decompressed bytes the whole body may declare: a block that declares more
    than is left is refused before it is decoded (a decompression bomb costs nothing)."""

    encoding = "ClickHouse native"

    def __init__(self, budget: int) -> None:
        self._pending = bytearray()
        self._left = budget
        self.blocks = 0

    def feed(self, data: bytes) -> bytes:
        self._pending += data
        out = []
        while len(self._pending) >= CHECKSUM + HEADER:
            method, size, raw_size = _SIZES.unpack_from(self._pending, CHECKSUM)
            self._check_header(method, size, raw_size)
            if len(self._pending) < CHECKSUM + size:
                break
            block = bytes(self._pending[CHECKSUM : CHECKSUM + size])
            if checksum(block) != bytes(self._pending[:CHECKSUM]):
                raise QueryError(
                    40,
                    f"Checksum doesn't match in compressed block {self.blocks + 1} of the request body: corrupted data",
                    "CHECKSUM_DOESNT_MATCH",
                )
            del self._pending[: CHECKSUM + size]
            out.append(_decode(method, block[HEADER:], raw_size, self.blocks + 1))
            self._left -= raw_size
            self.blocks += 1
        return b"".join(out)

    def _check_header(self, method: int, size: int, raw_size: int) -> None:
        where = f"compressed block {self.blocks + 1} of the request body"
        if method not in (LZ4, ZSTD, NONE):
            raise QueryError(
                89,
                f"Unknown compression method {method:#04x} in {where}: the warehouse reads LZ4 (0x82), "
                "ZSTD (0x90) and none (0x02)",
                "UNKNOWN_COMPRESSION_METHOD",
            )
        if size < HEADER or size > MAX_BLOCK or raw_size > MAX_BLOCK:
            raise QueryError(
                246,
                f"Too large size of {where}: compressed {size}, decompressed {raw_size} "
                f"(each must be at most {MAX_BLOCK} bytes, and the compressed at least {HEADER})",
                "TOO_LARGE_SIZE_COMPRESSED",
            )
        if raw_size > self._left:
            raise QueryError(
                246,
                f"{where} declares {raw_size} decompressed bytes, more than the {max(self._left, 0)} the "
                "request may still send: send the data in smaller requests",
                "TOO_LARGE_SIZE_COMPRESSED",
            )
        payload = size - HEADER
        if (method == NONE and payload != raw_size) or (method == LZ4 and raw_size > payload * LZ4_MAX_RATIO + 16):
            raise QueryError(
                271,
                f"Sizes of {where} do not agree: {payload} payload bytes cannot hold {raw_size} decompressed bytes",
                "CANNOT_DECOMPRESS",
            )

    def finish(self) -> None:
        if self._pending:
            raise QueryError(
                271,
                f"The request body ends inside compressed block {self.blocks + 1} "
                f"({len(self._pending)} bytes of it arrived): the body is truncated",
                "CANNOT_DECOMPRESS",
            )


def _decode(method: int, payload: bytes, raw_size: int, number: int) -> bytes:
    try:
        if method == LZ4:
            data = lz4.block.decompress(payload, uncompressed_size=raw_size)
        elif method == ZSTD:
            data = _bounded_zstd(payload, raw_size)
        else:
            data = payload
    except (lz4.block.LZ4BlockError, zstandard.ZstdError) as exc:
        raise QueryError(
            271, f"Cannot decompress compressed block {number} of the request body: {exc}", "CANNOT_DECOMPRESS"
        ) from exc
    if len(data) != raw_size:
        raise QueryError(
            271,
            f"Compressed block {number} of the request body decodes to {len(data)} bytes, "
            f"not the {raw_size} it declares",
            "CANNOT_DECOMPRESS",
        )
    return data


def _bounded_zstd(payload: bytes, raw_size: int) -> bytes:
    """The frame decoded, but never more than ``raw_size`` + 1 bytes of it (a frame's own content size
    is not trusted: a lie stops one byte past the declared size)."""
    out = bytearray()
    with zstandard.ZstdDecompressor().stream_reader(payload) as reader:
        while len(out) <= raw_size:
            piece = reader.read(min(raw_size + 1 - len(out), 1 << 20))
            if not piece:
                break
            out += piece
    return bytes(out)
