"""Avro single-object encoding, as the Avro specification defines it.

A message is ``C3 01`` + the 8-byte little-endian CRC-64-AVRO fingerprint of the writer schema's
canonical form + the Avro binary body. No registry process: readers find the writer schema by its
fingerprint in the catalog (schemas/catalog.py) and resolve it to their reader schema.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from fastavro import parse_schema, schemaless_reader, schemaless_writer
from fastavro.schema import fingerprint, to_parsing_canonical_form

from dids.kernel.errors import DidsError

MAGIC = b"\xc3\x01"
HEADER_SIZE = len(MAGIC) + 8


class CodecError(DidsError):
    """A message cannot be encoded or decoded."""


class NotSingleObjectError(CodecError):
    """The bytes do not start with the single-object marker C3 01."""


class UnknownSchemaError(CodecError):
    """The writer fingerprint is not in the catalog (a schema file is missing from schemas/avro/)."""


class CorruptMessageError(CodecError):
    """The header is fine but the body does not decode with the writer schema."""


@dataclass(frozen=True)
class SchemaVersion:
    """One published version of a named schema."""

    name: str  # subject, e.g. "examination_event"
    version: int
    raw: dict[str, Any]
    parsed: dict[str, Any]
    fingerprint: bytes  # 8 bytes, little-endian, as written in the header

    @classmethod
    def from_dict(cls, name: str, version: int, raw: dict[str, Any]) -> SchemaVersion:
        # parsed with fastavro's own hint, so the reader and writer do not parse it again on every call
        parsed = parse_schema(raw)
        canonical = to_parsing_canonical_form(parse_schema(raw, _write_hint=False))
        fp = bytes.fromhex(fingerprint(canonical, "CRC-64-AVRO"))
        return cls(name=name, version=version, raw=raw, parsed=parsed, fingerprint=fp)


def encode(schema: SchemaVersion, record: dict[str, Any]) -> bytes:
    buf = io.BytesIO()
    buf.write(MAGIC)
    buf.write(schema.fingerprint)
    try:
        schemaless_writer(buf, schema.parsed, record)
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:  # Overflow: a long out of range
        raise CodecError(f"record does not fit schema {schema.name} v{schema.version}: {exc}") from exc
    return buf.getvalue()


def split_header(data: bytes) -> tuple[bytes, memoryview]:
    """Return (fingerprint, body) or raise when the framing is wrong."""
    if len(data) < HEADER_SIZE or data[:2] != MAGIC:
        raise NotSingleObjectError(
            f"not an Avro single-object message (expected C3 01 header, got {bytes(data[:2]).hex() or 'empty'}, "
            f"{len(data)} bytes)"
        )
    return bytes(data[2:HEADER_SIZE]), memoryview(data)[HEADER_SIZE:]


def decode_body(body: memoryview | bytes, writer: SchemaVersion, reader: SchemaVersion) -> dict[str, Any]:
    stream = io.BytesIO(body)
    try:
        record = schemaless_reader(stream, writer.parsed, reader.parsed if reader is not writer else None)
    except Exception as exc:  # fastavro raises many types on garbage: EOFError, ValueError, IndexError...
        raise CorruptMessageError(
            f"body does not decode as {writer.name} v{writer.version}: {type(exc).__name__}: {exc}"
        ) from exc
    if stream.tell() != len(body):
        raise CorruptMessageError(
            f"{len(body) - stream.tell()} trailing bytes after a {writer.name} v{writer.version} record"
        )
    return record
