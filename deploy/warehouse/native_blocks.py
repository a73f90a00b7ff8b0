"""The Native format as a server writes it for a client that names its protocol version.

Over HTTP, ``client_protocol_version=N`` (clickhouse-go, so Grafana's plugin, sends 54460) makes a
server write each Native block as it would on its TCP protocol: a BlockInfo in front of the block
(N > 0), and after each column's type a "custom serialization" flag (N >= 54454), which is 0 for the
ordinary (dense) columns a result has. chDB writes Native as for revision 0, without either; this
module adds them. Finding where a column's data ends needs its type's layout, so the types a result
can have are walked here (numbers, dates, strings, Nullable, Array, Map, Tuple, LowCardinality, ...);
a type whose layout is not known here (Dynamic, JSON, Variant, AggregateFunction, ...) is refused
with its name, rather than sent in a layout the client would misread.
"""

from __future__ import annotations

import re
import struct

from deploy.warehouse.errors import QueryError

WITH_BLOCK_INFO = 1  # any named revision: BlockInfo in front of each block
WITH_CUSTOM_SERIALIZATION = 54454  # DBMS_MIN_REVISION_WITH_CUSTOM_SERIALIZATION
# field 1: is_overflows = 0; field 2: bucket_num = -1; 0: end of fields
BLOCK_INFO = b"\x01\x00\x02\xff\xff\xff\xff\x00"

_FIXED = {
    "UInt8": 1,
    "Int8": 1,
    "Bool": 1,
    "UInt16": 2,
    "Int16": 2,
    "Date": 2,
    "BFloat16": 2,
    "UInt32": 4,
    "Int32": 4,
    "Float32": 4,
    "Date32": 4,
    "DateTime": 4,
    "IPv4": 4,
    "Time": 4,
    "UInt64": 8,
    "Int64": 8,
    "Float64": 8,
    "DateTime64": 8,
    "Time64": 8,
    "UInt128": 16,
    "Int128": 16,
    "UUID": 16,
    "IPv6": 16,
    "UInt256": 32,
    "Int256": 32,
    "Decimal32": 4,
    "Decimal64": 8,
    "Decimal128": 16,
    "Decimal256": 32,
    "Enum8": 1,
    "Enum16": 2,
    "Nothing": 1,
}
_TYPE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\((.*)\))?\s*$", re.S)
_LC_INDEX = {0: 1, 1: 2, 2: 4, 3: 8}
_LC_HAS_ADDITIONAL_KEYS = 1 << 9
_U64 = struct.Struct("<Q")


class NativeRewriteError(QueryError):
    def __init__(self, message: str) -> None:
        super().__init__(48, message, "NOT_IMPLEMENTED")


def for_revision(data: bytes | memoryview, revision: int) -> bytes:
    """chDB's Native ``data`` (whole blocks) as a server writes it for a client of ``revision``."""
    if revision < WITH_BLOCK_INFO or not data:
        return bytes(data)
    buf = bytes(data)
    out = bytearray()
    pos = 0
    while pos < len(buf):
        out += BLOCK_INFO
        start = pos
        columns, pos = _varint(buf, pos)
        rows, pos = _varint(buf, pos)
        out += buf[start:pos]
        for _ in range(columns):
            head = pos
            _, pos = _string(buf, pos)
            type_name, pos = _string(buf, pos)
            out += buf[head:pos]
            if revision >= WITH_CUSTOM_SERIALIZATION:
                out.append(0)
            if rows:
                body = pos
                type_text = type_name.decode()
                pos = _prefix(buf, pos, type_text)
                pos = _skip(buf, pos, type_text, rows)
                out += buf[body:pos]
    if pos != len(buf):
        raise NativeRewriteError("the engine's Native result ended inside a block")
    return bytes(out)


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(buf):
            raise NativeRewriteError("the engine's Native result ended inside a number")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, pos


def _string(buf: bytes, pos: int) -> tuple[bytes, int]:
    size, pos = _varint(buf, pos)
    return buf[pos : pos + size], pos + size


def _parse(type_text: str) -> tuple[str, list[str]]:
    match = _TYPE.match(type_text)
    if match is None:
        raise NativeRewriteError(f"cannot read the column type {type_text!r}")
    name, args = match.group(1), match.group(2)
    return name, _split(args) if args is not None else []


def _split(args: str) -> list[str]:
    """Top-level arguments of a type (commas inside brackets or quotes do not split)."""
    parts, depth, quote, start = [], 0, "", 0
    i = 0
    while i < len(args):
        ch = args[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "'`\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(args[start:i].strip())
            start = i + 1
        i += 1
    parts.append(args[start:].strip())
    return parts


def _element(arg: str) -> str:
    """A Tuple element's type, without the element's name (``a UInt8`` -> ``UInt8``): a bare type
    never has a space between its name and its arguments, a named element always has one."""
    if _TYPE.match(arg):
        return arg
    match = re.match(r"^([A-Za-z_][A-Za-z0-9_]*|`(?:[^`\\]|\\.)*`)\s+(.+)$", arg, re.S)
    if match is None:
        raise NativeRewriteError(f"cannot read the tuple element {arg!r}")
    return match.group(2)


def _prefix(buf: bytes, pos: int, type_text: str) -> int:
    """Skip the column's state prefix (LowCardinality's key version, for itself and nested ones)."""
    name, args = _parse(type_text)
    if name == "LowCardinality":
        return pos + 8
    if name in ("Array", "Nullable"):
        return _prefix(buf, pos, args[0])
    if name == "Map":
        return _prefix(buf, _prefix(buf, pos, args[0]), args[1])
    if name == "Tuple":
        for arg in args:
            pos = _prefix(buf, pos, _element(arg))
    return pos


def _skip(buf: bytes, pos: int, type_text: str, rows: int) -> int:
    """The position after ``rows`` values of the type starting at ``pos``."""
    name, args = _parse(type_text)
    if name in _FIXED:
        return pos + _FIXED[name] * rows
    if name == "Decimal":
        precision = int(args[0])
        width = 4 if precision <= 9 else 8 if precision <= 18 else 16 if precision <= 38 else 32
        return pos + width * rows
    if name.startswith("Interval"):
        return pos + 8 * rows
    if name == "String":
        for _ in range(rows):
            size, pos = _varint(buf, pos)
            pos += size
        return pos
    if name == "FixedString":
        return pos + int(args[0]) * rows
    if name == "Nullable":
        return _skip(buf, pos + rows, args[0], rows)
    if name in ("Array", "Map"):
        if not rows:
            return pos
        end = pos + 8 * rows
        (inner,) = _U64.unpack_from(buf, end - 8)
        if name == "Array":
            return _skip(buf, end, args[0], inner)
        return _skip(buf, _skip(buf, end, args[0], inner), args[1], inner)
    if name == "Tuple":
        for arg in args:
            pos = _skip(buf, pos, _element(arg), rows)
        return pos
    if name == "LowCardinality":
        keys_type = args[0]
        inner_name, inner_args = _parse(keys_type)
        if inner_name == "Nullable":  # the dictionary holds the values; NULL is its first key
            keys_type = inner_args[0]
        seen = 0
        while seen < rows:
            (flags,) = _U64.unpack_from(buf, pos)
            pos += 8
            if flags & _LC_HAS_ADDITIONAL_KEYS:
                (keys,) = _U64.unpack_from(buf, pos)
                pos = _skip(buf, pos + 8, keys_type, keys)
            (count,) = _U64.unpack_from(buf, pos)
            pos += 8 + _LC_INDEX[flags & 0xFF] * count
            seen += count
        return pos
    raise NativeRewriteError(
        f"a result column of type {type_text} cannot be sent in the Native format for client_protocol_version "
        "(the embedded warehouse does not write that type's layout): CAST it to String, or ask for another format"
    )
