"""Write 18-item records as a national DIDS CSV or a DIDS-v1-0 XML file (the readers' inverse).

Used by the simulator (``--to-csv``/``--to-xml``) and by round-trip tests. Records are mappings keyed by
``dids.kernel.items.ITEM_NAMES`` (e.g. ``producers.generator.records(config, n, now)``); a missing key or
None is written as an empty CSV field or as an absent XML element, which the readers read back as None.
Values are written exactly as given. An empty string cannot survive a round trip (it reads back as None).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO
from xml.sax.saxutils import quoteattr

from dids.kernel.items import CSV_HEADERS, ITEM_NAMES
from producers.extract.csv_reader import NationalDialect
from producers.extract.xml_reader import ACTIVITY, ADDRESS, NAMESPACE, PATIENT, POSTAL_CODE, REFERRAL

Record = Mapping[str, str | None]
Target = str | Path | TextIO

# characters XML 1.0 cannot carry at all, even escaped
_XML_FORBIDDEN = {chr(c) for c in range(0x20) if chr(c) not in "\t\n\r"} | {"\ufffe", "\uffff"}
_SHARED_ITEMS = tuple(item for item, _ in (*PATIENT.values(), *REFERRAL.values())) + ("postcode",)


@contextmanager
def _opened(target: Target, bom: bool = False):
    if isinstance(target, str | Path):
        with open(target, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as stream:
            yield stream
    else:
        yield target


def write_csv(
    records: Iterable[Record], target: Target, *, header: bool = True, bom: bool = False, line_end: str = "\r\n"
) -> int:
    """Write a national CSV (18 columns, national order) to a path or text stream; returns the record count.

    ``header`` writes the national header row first; ``bom`` starts a file with a UTF-8 BOM;
    ``line_end`` is ``"\\r\\n"`` (default) or ``"\\n"``. Open a stream yourself with ``newline=""``.
    """
    count = 0
    with _opened(target, bom) as stream:
        writer = csv.writer(stream, dialect=NationalDialect, lineterminator=line_end)
        if header:
            writer.writerow(CSV_HEADERS)
        for record in records:
            writer.writerow(["" if record.get(name) is None else record[name] for name in ITEM_NAMES])
            count += 1
    return count


def write_xml(records: Iterable[Record], target: Target, *, group: bool = True) -> int:
    """Write DIDS-v1-0 XML (UTF-8) to a path or text stream; returns the record count.

    Each record becomes one ``ImagingActivity``. With ``group`` (default), consecutive records with the
    same patient and referral values share one ``DIDSRecord``, as a RIS extract of one request with
    several examinations would; otherwise every record gets its own ``DIDSRecord``.
    Raises ValueError for a value XML cannot carry (a control character such as NUL).
    """
    count = 0
    with _opened(target) as stream:
        stream.write(f'<?xml version="1.0" encoding="UTF-8"?>\n<DIDS xmlns="{NAMESPACE}">\n')
        shared: tuple[str | None, ...] | None = None
        for record in records:
            key = tuple(record.get(item) for item in _SHARED_ITEMS)
            if shared is not None and not (group and key == shared):
                stream.write("  </DIDSRecord>\n")
                shared = None
            if shared is None:
                stream.write("  <DIDSRecord>\n")
                _write_block(stream, "PersonalAndDemographics", PATIENT, record, address=True)
                _write_block(stream, "Referrals", REFERRAL, record)
                shared = key
            _write_block(stream, "ImagingActivity", ACTIVITY, record)
            count += 1
        if shared is not None:
            stream.write("  </DIDSRecord>\n")
        stream.write("</DIDS>\n")
    return count


def _write_block(stream: TextIO, name: str, layout, record: Record, *, address: bool = False) -> None:
    lines = []
    for element, (item, attribute) in layout.items():
        value = record.get(item)
        if value is None:
            continue
        if attribute is None:
            lines.append(f"<{element}>{_text(value)}</{element}>")
        else:
            lines.append(f"<{element} {attribute}={_attribute(value)}/>")
    postcode = record.get("postcode") if address else None
    if postcode is not None:
        lines.append(f"<{ADDRESS}><{POSTAL_CODE}>{_text(postcode)}</{POSTAL_CODE}></{ADDRESS}>")
    if not lines and name != "ImagingActivity":
        return
    body = "".join(f"      {line}\n" for line in lines)
    stream.write(f"    <{name}>\n{body}    </{name}>\n")


def _check(value: str) -> str:
    if any(char in _XML_FORBIDDEN for char in value):
        raise ValueError("value contains a control character that XML 1.0 cannot carry")
    return value


def _text(value: str) -> str:
    # \r is escaped so that the parser's line-end normalisation keeps it
    escaped = _check(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return escaped.replace("\r", "&#13;")


def _attribute(value: str) -> str:
    # quoteattr escapes &, <, >, quotes, \n, \r and \t, so attribute normalisation keeps them
    return quoteattr(_check(value))


def to_csv_text(records: Iterable[Record], **options) -> str:
    """``write_csv`` into a string (small files and tests)."""
    buffer = io.StringIO(newline="")
    write_csv(records, buffer, **options)
    return buffer.getvalue()
