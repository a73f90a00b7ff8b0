"""Stream a national DIDS CSV extract (DIDS-SPEC §2.1, DIDS-RULES §2.19), strictly, one row at a time.

* **v1:** 18 columns mapped by position (``dids.kernel.items.ITEM_NAMES``). The first line is skipped only
  when it is the national header (each cell trimmed and upper-cased equals ``CSV_HEADERS``); otherwise
  it is data.
* **v2:** recognised by its header (``producers.extract.v2``); columns are mapped by header name.
* **Strict.** The csv module with ``strict=True`` (comma, ``"`` quotes doubled inside quoted fields, no
  space skipping). Any row whose column count differs (18, or the v2 header's count), a quoting error, a
  field over the csv module's limit (128 KiB), a NUL character or an undecodable line rejects the whole
  file: ``FileRejectError("DIDS075", line, message)`` with the physical line number (from 1). An empty
  line is a row of 0 columns and rejects the file, except blank lines at the very end of the file,
  which are ignored (**assumption**: editors and spreadsheet exports often leave them). A file with no
  record at all (empty, blank lines or a header only) is rejected too: as a submission it would
  replace a provider-month with nothing.
* **Encoding (decision).** UTF-8, with or without a UTF-8 BOM, is the only encoding read by default. A
  cp1252 (Windows) file is *not* guessed: almost any byte string decodes as cp1252, so a fallback would
  silently turn a corrupt UTF-8 file into wrong values. Its first non-UTF-8 line rejects the file with a
  message saying so, and a caller who knows the file is Windows-1252 passes ``encoding="cp1252"``
  (``dids validate --encoding cp1252``). UTF-16 (a UTF-16 BOM) is rejected with a clear message.
* **Streaming.** The file is read line by line in binary and each line decoded on its own, so memory
  does not grow with the file and a decoding error has an exact line number. Every ``\\n`` byte is a
  line end in UTF-8 and cp1252, so splitting before decoding is safe. CRLF and LF are both accepted.

Records are ``(row_number, raw)``: ``row_number`` counts data records from 1 (the header is not one);
``raw`` maps every item of ``ITEM_NAMES`` (and, for v2, the other columns) to the field text exactly
as submitted, an empty field being None. Trimming and the rest of cleansing are ``streams.columnar.cleansing``'s.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from dids.kernel.items import CSV_HEADERS, ITEM_NAMES
from producers.extract import v2
from producers.extract.errors import FileRejectError

CSV_REJECT = "DIDS075"
ENCODINGS = ("utf-8", "cp1252")
PROGRESS_EVERY_BYTES = 1 << 18

Row = tuple[int, dict[str, str | None]]
Progress = Callable[[int, int], None]  # (bytes read, total bytes)


class NationalDialect(csv.Dialect):
    delimiter = ","
    quotechar = '"'
    doublequote = True
    skipinitialspace = False
    lineterminator = "\r\n"
    quoting = csv.QUOTE_MINIMAL
    strict = True


@dataclass(frozen=True)
class CsvLayout:
    """How a file's columns map onto record keys."""

    version: str  # "v1" or "v2"
    has_header: bool
    columns: tuple[str, ...] = ITEM_NAMES  # record key per column position
    unknown_columns: tuple[str, ...] = field(default=())  # v2 headers kept under their own name


V1_NO_HEADER = CsvLayout("v1", has_header=False)
V1_HEADER = CsvLayout("v1", has_header=True)
_HEADER = tuple(CSV_HEADERS)


def layout_of(first_row: list[str], line: int = 1) -> CsvLayout:
    """The layout a file's first parsed row announces (v1 with or without header, or v2)."""
    cells = tuple(cell.strip().upper() for cell in first_row)
    if cells == _HEADER:
        return V1_HEADER
    if v2.is_v2_header(first_row):
        try:
            columns, unknown = v2.map_header(first_row)
        except v2.HeaderError as exc:
            raise FileRejectError(CSV_REJECT, line, str(exc)) from None
        return CsvLayout("v2", has_header=True, columns=columns, unknown_columns=unknown)
    return V1_NO_HEADER


def sniff_layout(path: str | Path, *, encoding: str = "utf-8") -> CsvLayout:
    """Read only the first record of ``path`` and return its layout (an empty file is v1 without header)."""
    with open(path, "rb") as stream:
        reader = csv.reader(_lines(stream, encoding), dialect=NationalDialect)
        try:
            first = next(reader, None)
        except csv.Error as exc:
            raise FileRejectError(CSV_REJECT, reader.line_num, _csv_message(exc)) from None
    return V1_NO_HEADER if first is None else layout_of(first)


def read_csv(path: str | Path, *, encoding: str = "utf-8", on_progress: Progress | None = None) -> Iterator[Row]:
    """Yield ``(row_number, raw)`` for every data record of the CSV file at ``path`` (module docstring)."""
    total = Path(path).stat().st_size
    with open(path, "rb") as stream:
        yield from iter_csv(stream, encoding=encoding, total=total, on_progress=on_progress)


def iter_csv(
    stream: BinaryIO, *, encoding: str = "utf-8", total: int = 0, on_progress: Progress | None = None
) -> Iterator[Row]:
    """``read_csv`` over an open binary stream."""
    reader = csv.reader(_lines(stream, encoding, total, on_progress), dialect=NationalDialect)
    layout: CsvLayout | None = None
    row_number = 0
    blank_line = 0  # the first of a run of blank lines: fatal only if data follows
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            if row_number == 0:  # a submission of nothing replaces nothing: say so instead of accepting it
                raise FileRejectError(
                    CSV_REJECT, max(1, reader.line_num), "the file holds no records (empty, or a header only)"
                ) from None
            return
        except csv.Error as exc:
            raise FileRejectError(CSV_REJECT, reader.line_num, _csv_message(exc)) from None
        if not row:
            blank_line = blank_line or start
            continue
        if blank_line:
            raise FileRejectError(CSV_REJECT, blank_line, "empty line: a row must have exactly 18 columns")
        if layout is None:
            layout = layout_of(row, start)
            if layout.has_header:
                continue
        if len(row) != len(layout.columns):
            raise FileRejectError(CSV_REJECT, start, _count_message(len(row), layout))
        row_number += 1
        record = dict(zip(layout.columns, [cell or None for cell in row], strict=True))
        if layout.version == "v2":
            record = {**dict.fromkeys(ITEM_NAMES), **record}
            v2.fill_v1_dates(record)
        yield row_number, record


def _csv_message(exc: csv.Error) -> str:
    text = str(exc)
    if "new-line character" in text:
        text = "a carriage return inside an unquoted field (old Mac CR line ends?)"
    return f"not a strict CSV: {text}"


def _count_message(count: int, layout: CsvLayout) -> str:
    expected = len(layout.columns)
    where = "the v2 header" if layout.version == "v2" else "national layout"
    return f"row has {count} columns, expected exactly {expected} ({where})"


def _lines(stream: BinaryIO, encoding: str, total: int = 0, on_progress: Progress | None = None) -> Iterator[str]:
    """Decoded physical lines, line endings kept for the csv module; rejects undecodable lines and NULs."""
    if encoding not in ENCODINGS:
        raise ValueError(f"encoding must be one of {', '.join(ENCODINGS)}, not {encoding!r}")
    decode = codecs.getdecoder(encoding)
    done = reported = 0
    for number, raw in enumerate(stream, start=1):
        done += len(raw)
        if number == 1:
            raw = _strip_bom(raw, encoding)
        try:
            line = decode(raw)[0]
        except UnicodeDecodeError as exc:
            raise FileRejectError(CSV_REJECT, number, _decode_message(exc, encoding)) from None
        if "\x00" in line:
            raise FileRejectError(CSV_REJECT, number, "line contains a NUL character (binary or UTF-16 file?)")
        if on_progress is not None and done - reported >= PROGRESS_EVERY_BYTES:
            on_progress(done, total)
            reported = done
        yield line
    if on_progress is not None:
        on_progress(done, max(total, done))


def _strip_bom(first: bytes, encoding: str) -> bytes:
    if first.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise FileRejectError(CSV_REJECT, 1, "file is UTF-16 encoded; save it as UTF-8")
    if encoding == "utf-8" and first.startswith(codecs.BOM_UTF8):
        return first[len(codecs.BOM_UTF8) :]
    return first


def _decode_message(exc: UnicodeDecodeError, encoding: str) -> str:
    byte = exc.object[exc.start : exc.start + 1].hex()
    hint = " (a Windows-1252 file? re-save it as UTF-8 or read it with encoding cp1252)" if encoding == "utf-8" else ""
    return f"line is not valid {encoding}: byte 0x{byte} at position {exc.start + 1}{hint}"
