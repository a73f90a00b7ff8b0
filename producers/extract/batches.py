"""An extract's records in batches of columns, for the columnar checks (``dids validate``).

``record_batches(extract, rows)`` yields ``Batch``: the first record's row number and a polars frame
with a text column per record key (null for an empty field). A v1 CSV takes a fast path: the file is
read in large blocks, each decoded at once; a block without a quote character and without a carriage
return outside a CRLF is exactly its lines' fields joined by commas, so polars splits it. The fast path
only decides when all is well: at the first thing it does not expect (a quote, a stray CR, an
undecodable block, a NUL, a row of the wrong width, data after a blank line, no record) it gives way to
the strict record reader (``csv_reader.read_csv``), which then says exactly what is wrong and where
(DIDS075 with its line) or reads the file as it stands. v2 CSV and XML files are read record by record
and batched. The whole file is read before the first batch is yielded, so a reject always comes first;
its text is held in memory meanwhile (about 150 bytes a record).
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from dids.kernel.items import ITEM_NAMES
from producers.extract.csv_reader import V1_HEADER, Progress, layout_of
from producers.extract.reader import Extract

BLOCK_BYTES = 8 << 20


@dataclass(frozen=True)
class Batch:
    first_row: int  # row number of the first record (data records count from 1)
    frame: pl.DataFrame  # a text column per record key, null for an empty field

    def __len__(self) -> int:
        return self.frame.height


class _Unexpected(Exception):
    """The fast path met something only the strict reader may judge."""


def record_batches(extract: Extract, rows: int = 50_000, on_progress: Progress | None = None) -> Iterator[Batch]:
    """Every record of ``extract`` in batches of at most ``rows`` (module docstring). Raises
    ``FileRejectError`` like ``Extract.records``; nothing is yielded before the whole file has been read
    once, so a reject always comes first."""
    if extract.format == "csv":
        try:
            batches = list(_v1_batches(extract.path, extract.encoding, rows, on_progress))
        except _Unexpected:
            batches = None
        if batches is not None:
            yield from batches
            return
    yield from _record_batches(extract, rows, on_progress)


def _record_batches(extract: Extract, rows: int, on_progress: Progress | None) -> Iterator[Batch]:
    records = list(extract.records(on_progress))  # the strict reader: a file reject before any batch
    names = list(dict.fromkeys(name for _, raw in records[:1] for name in raw)) or list(ITEM_NAMES)
    for start in range(0, len(records), rows):
        chunk = records[start : start + rows]
        columns = {name: [raw.get(name) for _, raw in chunk] for name in names}
        yield Batch(chunk[0][0], pl.DataFrame(columns, schema=dict.fromkeys(names, pl.String)))


def _v1_batches(path: Path, encoding: str, rows: int, on_progress: Progress | None) -> Iterator[Batch]:
    """The fast path for v1 CSV blocks without a quote or a stray carriage return: then every line is its
    fields joined by commas, exactly as the csv module would read it, and polars splits them."""
    total = path.stat().st_size
    width = len(ITEM_NAMES)
    frames: list[pl.DataFrame] = []
    first, blank = True, False
    for text, done in _blocks(path, encoding):
        if '"' in text or text.count("\r") != text.count("\r\n"):
            raise _Unexpected  # quoting, or a CR the csv module refuses: the strict reader decides
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()  # the block ends with a line end
        if first:
            first = False
            if lines and layout_of(lines[0].removesuffix("\r").split(",")) is V1_HEADER:
                lines = lines[1:]
        fields = pl.Series("line", lines, dtype=pl.String).str.strip_suffix("\r").str.split(",")
        widths = fields.list.len()
        if blank and len(lines):
            raise _Unexpected  # data after a blank line
        empty = fields.list.first() == ""
        is_blank = (widths == 1) & empty
        if is_blank.any():
            # blank lines are ignored at the very end of the file only: a blank line before data rejects it
            first_blank = int(is_blank.arg_true()[0])
            if not is_blank[first_blank:].all():
                raise _Unexpected
            fields, widths, blank = fields[:first_blank], widths[:first_blank], True
        if not (widths == width).all():
            raise _Unexpected
        frames.append(
            pl.DataFrame({name: fields.list.get(i) for i, name in enumerate(ITEM_NAMES)}).with_columns(
                pl.when(pl.col(name) != "").then(pl.col(name)).alias(name) for name in ITEM_NAMES
            )
        )
        if on_progress is not None:
            on_progress(done, total)
    whole = pl.concat(frames) if frames else pl.DataFrame()
    if whole.height == 0:
        raise _Unexpected  # no record: the strict reader rejects the file
    for start in range(0, whole.height, rows):
        yield Batch(start + 1, whole.slice(start, rows))


def _blocks(path: Path, encoding: str) -> Iterator[tuple[str, int]]:
    """Decoded blocks of whole lines (each ends at a ``\\n``, the last at the end of the file)."""
    decode = codecs.getdecoder(encoding)
    done = 0
    carry = b""
    with open(path, "rb") as stream:
        while True:
            block = stream.read(BLOCK_BYTES)
            if done == 0 and block.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
                raise _Unexpected
            if done == 0 and encoding == "utf-8" and block.startswith(codecs.BOM_UTF8):
                block = block[len(codecs.BOM_UTF8) :]
            done += len(block)
            data = carry + block
            if not block:
                if data:
                    yield _decoded(decode, data), done
                return
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                carry = data
                continue
            carry = data[cut:]
            yield _decoded(decode, data[:cut]), done


def _decoded(decode, data: bytes) -> str:
    try:
        text = decode(data)[0]
    except UnicodeDecodeError:
        raise _Unexpected from None
    if "\x00" in text:
        raise _Unexpected
    return text
