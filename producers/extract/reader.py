"""Open a monthly DIDS extract, whatever its layout: ``open_extract(path) -> Extract``.

The format is chosen by content first: a file whose first non-blank character (after a BOM) is ``<`` is
XML; otherwise a ``.xml`` extension still means XML (the XML reader then rejects it with DIDS076);
anything else is CSV, v1 or v2 according to its first line (``producers.extract.csv_reader``).
An ``Extract`` can be read any number of times (each ``records()`` call reopens the file), which is
what the two-pass ``dids validate`` needs.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from producers.extract.csv_reader import CsvLayout, Progress, Row, read_csv, sniff_layout
from producers.extract.xml_reader import read_xml

Format = Literal["csv", "csv-v2", "xml"]
_SNIFF_BYTES = 4096
_XML_STARTS = (b"<", codecs.BOM_UTF16_LE + b"<\x00", codecs.BOM_UTF16_BE + b"\x00<")


@dataclass(frozen=True)
class Extract:
    """One extract file: its format, size and (for CSV) layout; ``records()`` streams its records."""

    path: Path
    format: Format
    size: int
    encoding: str = "utf-8"  # CSV only: an XML file declares its own
    layout: CsvLayout | None = None  # CSV only

    @property
    def has_header(self) -> bool:
        return self.layout is not None and self.layout.has_header

    def records(self, on_progress: Progress | None = None) -> Iterator[Row]:
        """``(row_number, raw)`` for every record, in file order; ``on_progress(bytes_read, total)``.

        Raises ``FileRejectError`` (DIDS075/076) when the file turns out to be malformed, possibly after
        some records were yielded: a caller needing all-or-nothing reads it once first.
        """
        if self.format == "xml":
            return read_xml(self.path, on_progress=on_progress)
        return read_csv(self.path, encoding=self.encoding, on_progress=on_progress)

    def __iter__(self) -> Iterator[Row]:
        return self.records()


def open_extract(path: str | Path, *, encoding: str = "utf-8") -> Extract:
    """Recognise the extract at ``path`` (module docstring); reads at most its first record.

    ``OSError`` when the file cannot be read; ``FileRejectError`` when a CSV's first line already fails.
    """
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as stream:
        head = stream.read(_SNIFF_BYTES)
    if _looks_like_xml(head) or (path.suffix.lower() == ".xml"):
        return Extract(path, "xml", size)
    layout = sniff_layout(path, encoding=encoding)
    return Extract(path, "csv-v2" if layout.version == "v2" else "csv", size, encoding, layout)


def _looks_like_xml(head: bytes) -> bool:
    if head.startswith(codecs.BOM_UTF8):
        head = head[len(codecs.BOM_UTF8) :]
    return head.lstrip(b" \t\r\n").startswith(_XML_STARTS) or head.startswith(_XML_STARTS)
