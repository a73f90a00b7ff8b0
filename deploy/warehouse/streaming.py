"""Which result formats can be streamed, and how: chDB hands a streamed result over in chunks, each
formatted on its own (measured: every chunk of a ``…WithNames`` format repeats its header; JSON,
XML, Pretty, Parquet and Arrow repeat their whole frame). Formats without header or footer join as
they are; the ``…WithNames``/``…WithNamesAndTypes`` forms of TSV, CSV, JSONCompactEachRow and
RowBinary join once the header the first chunk shows is taken off each later chunk. Any other
format is answered whole (bounded by the result limits).
"""

from __future__ import annotations

from deploy.warehouse.errors import QueryError

_PLAIN = frozenset(
    {
        "tabseparated",
        "tsv",
        "tabseparatedraw",
        "tsvraw",
        "csv",
        "jsoneachrow",
        "jsonlines",
        "ndjson",
        "jsoncompacteachrow",
        "jsonstringseachrow",
        "native",
        "rowbinary",
        "lineasstring",
    }
)
# format family -> how its header records are read: one record a line (names escaped), CSV
# records (a quoted name may hold a newline), or RowBinary's varint-prefixed strings
_HEADED = {
    "tabseparated": "lines",
    "tsv": "lines",
    "jsoncompacteachrow": "lines",
    "jsoncompactstringseachrow": "lines",
    "csv": "csv",
    "rowbinary": "rowbinary",
}


def streamable(fmt: str) -> bool:
    return fmt.lower() in _PLAIN or _headed(fmt) is not None


def has_header(fmt: str) -> bool:
    """The format writes a header even for no rows (the ``…WithNames`` forms)."""
    return _headed(fmt) is not None


def _headed(fmt: str) -> tuple[str, int] | None:
    """(reader, header records) of a ``…WithNames[AndTypes]`` format, else None."""
    name = fmt.lower()
    for suffix, records in (("withnamesandtypes", 2), ("withnames", 1)):
        if name.endswith(suffix) and name[: -len(suffix)] in _HEADED:
            return _HEADED[name[: -len(suffix)]], records
    return None


class Joiner:
    """Makes the chunks of one result into one body: the first as it is, each later one without the
    header it repeats."""

    def __init__(self, fmt: str) -> None:
        self._headed = _headed(fmt)
        self._header: bytes | None = None

    def join(self, chunk: bytes) -> bytes:
        if self._headed is None:
            return chunk
        if self._header is None:
            self._header = chunk[: _header_length(chunk, *self._headed)]
            return chunk
        if not chunk.startswith(self._header):
            raise QueryError(1001, "A streamed chunk did not start with the result's header", "STD_EXCEPTION")
        return chunk[len(self._header) :]


def _header_length(data: bytes, reader: str, records: int) -> int:
    if reader == "lines":
        pos = 0
        for _ in range(records):
            pos = data.index(b"\n", pos) + 1
        return pos
    if reader == "csv":
        pos, quoted = 0, False
        for _ in range(records):
            while True:
                byte = data[pos]
                pos += 1
                if byte == 0x22:  # '"': a doubled one inside quotes toggles twice, which is the same
                    quoted = not quoted
                elif byte == 0x0A and not quoted:
                    break
        return pos
    columns, pos = _varint(data, 0)
    for _ in range(columns * records):
        size, pos = _varint(data, pos)
        pos += size
    return pos


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, pos
