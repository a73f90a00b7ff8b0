"""Request bodies: decompress as they stream in, find the SQL, spool INSERT data to a file.

ClickHouse reads the statement from ``query`` + "\\n" + body. For ``INSERT ... FORMAT X`` the data
follows the header; it can be hundreds of megabytes, so only the first ``PREFIX_LIMIT`` bytes are
held in memory (to find the header) and the rest goes straight to a spool file that the engine
reads with ``INSERT ... FROM INFILE``. The engine never sees the network, and a client that
disconnects half-way inserts nothing.
"""

from __future__ import annotations

import gzip
import uuid
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import lz4.frame
import zstandard

from deploy.warehouse.errors import QueryError
from deploy.warehouse.sql import Statement, analyze

PREFIX_LIMIT = 1 << 20  # bytes of body read before the SQL header must have ended
CHUNK = 1 << 16

_DECOMPRESSORS: dict[str, Callable[[], object]] = {
    "lz4": lz4.frame.LZ4FrameDecompressor,
    "zstd": lambda: zstandard.ZstdDecompressor().decompressobj(),
    "gzip": lambda: zlib.decompressobj(wbits=16 + zlib.MAX_WBITS),
    "x-gzip": lambda: zlib.decompressobj(wbits=16 + zlib.MAX_WBITS),
    "deflate": lambda: zlib.decompressobj(),
}
_COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "lz4": lambda data: lz4.frame.compress(data),
    "zstd": lambda data: zstandard.ZstdCompressor().compress(data),
    "gzip": lambda data: gzip.compress(data, compresslevel=3),
    "deflate": lambda data: zlib.compress(data, 3),
}
ENCODINGS = tuple(_COMPRESSORS)


class Decoder:
    """Streaming decompression of concatenated frames (clickhouse-connect sends one per block)."""

    def __init__(self, encoding: str):
        self.encoding = encoding
        self._factory = _DECOMPRESSORS[encoding]
        self._obj = self._factory()
        self._pending = False  # a frame was started and not finished

    def feed(self, data: bytes) -> bytes:
        out = []
        try:
            while data:
                out.append(self._obj.decompress(data))
                self._pending = True
                if not self._obj.eof:
                    break
                data = self._obj.unused_data
                self._obj = self._factory()
                self._pending = False
        except (RuntimeError, OSError, zlib.error, zstandard.ZstdError) as exc:
            raise QueryError(
                271, f"Cannot decompress the {self.encoding} request body: {exc}", "CANNOT_DECOMPRESS"
            ) from exc
        return b"".join(out)

    def finish(self) -> None:
        if self._pending:
            raise QueryError(271, f"The {self.encoding} request body is truncated", "CANNOT_DECOMPRESS")


def decoder_for(content_encoding: str | None) -> Decoder | None:
    encoding = (content_encoding or "").strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding not in _DECOMPRESSORS:
        raise QueryError(36, f"Unknown HTTP compression method {encoding!r} in Content-Encoding", "BAD_ARGUMENTS")
    return Decoder(encoding)


def choose_encoding(accept_encoding: str | None) -> str | None:
    """The first method in the client's Accept-Encoding that we can produce (client's order)."""
    for item in (accept_encoding or "").split(","):
        name, _, params = item.strip().partition(";")
        if name.strip().lower() in _COMPRESSORS and params.replace(" ", "") not in ("q=0", "q=0.0"):
            return name.strip().lower()
    return None


def compress(data: bytes, encoding: str) -> bytes:
    return _COMPRESSORS[encoding](data)


class Compressor:
    """One compressed stream (one frame or member) across the chunks of a streamed response; each
    ``feed`` flushes what it can, so the client decodes as the chunks arrive."""

    def __init__(self, encoding: str) -> None:
        if encoding == "lz4":
            self._lz4 = lz4.frame.LZ4FrameCompressor(compression_level=0)
            self._head = self._lz4.begin()
        elif encoding == "zstd":
            self._zstd = zstandard.ZstdCompressor().compressobj()
        else:
            wbits = 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
            self._zlib = zlib.compressobj(3, zlib.DEFLATED, wbits)
        self.encoding = encoding

    def feed(self, data: bytes) -> bytes:
        if self.encoding == "lz4":
            head, self._head = self._head, b""
            return head + self._lz4.compress(data)
        if self.encoding == "zstd":
            return self._zstd.compress(data) + self._zstd.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)
        return self._zlib.compress(data) + self._zlib.flush(zlib.Z_SYNC_FLUSH)

    def finish(self) -> bytes:
        if self.encoding == "lz4":
            return self._head + self._lz4.flush()
        if self.encoding == "zstd":
            return self._zstd.flush()
        return self._zlib.flush()


@dataclass(frozen=True)
class Prepared:
    """What the engine runs: the SQL, and for an INSERT with data the spool file it reads."""

    sql: bytes
    statement: Statement
    data_file: Path | None = None
    data_bytes: int = 0

    def discard(self) -> None:
        if self.data_file is not None:
            with suppress(FileNotFoundError):
                self.data_file.unlink()


async def decoded(chunks: AsyncIterator[bytes], decoder: Decoder | None) -> AsyncIterator[bytes]:
    async for chunk in chunks:
        data = decoder.feed(chunk) if decoder is not None else chunk
        if data:
            yield data
    if decoder is not None:
        decoder.finish()


MAX_SPOOL_BYTES = 4 << 30  # decompressed INSERT data of one request: a bomb stops here, not at a full disk

# called with the statement's SQL (an INSERT's header, without its data) before any data is spooled
Authorize = Callable[[str, Statement], Awaitable[None]]


async def prepare(
    query: str, body: AsyncIterator[bytes], spool_dir: Path, authorize: Authorize, *, max_spool: int = MAX_SPOOL_BYTES
) -> Prepared:
    """Read the statement from ``query`` and the (decoded) body, authorize it, then spool inline INSERT data."""
    head = (query.encode() + b"\n") if query else b""
    prefix = bytearray(head)
    complete = True
    async for chunk in body:
        prefix += chunk
        if len(prefix) - len(head) >= PREFIX_LIMIT:
            complete = False
            break
    text = prefix.decode("latin-1")
    statement = analyze(text, complete=complete)
    await authorize(statement.sql_head(text), statement)
    if not statement.has_data:
        return Prepared(sql=bytes(prefix).rstrip(), statement=statement)
    assert statement.data_start is not None
    path = spool_dir / f"{uuid.uuid4().hex}.body"
    size = len(prefix) - statement.data_start
    try:
        with open(path, "wb") as spool:
            spool.write(prefix[statement.data_start :])
            del prefix
            if not complete:
                async for chunk in body:
                    size += len(chunk)
                    if size > max_spool:
                        raise QueryError(
                            241,
                            f"INSERT data over {max_spool >> 20} MiB in one request: send it in parts",
                            "MEMORY_LIMIT_EXCEEDED",
                            status=413,
                        )
                    spool.write(chunk)
    except BaseException:
        with suppress(FileNotFoundError):
            path.unlink()
        raise
    sql = statement.with_infile(text, str(path)).encode("latin-1")
    return Prepared(sql=sql, statement=statement, data_file=path, data_bytes=size)
