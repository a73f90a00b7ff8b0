"""DIDS v2.0 CSV extracts (DIDS-SPEC §3): how they are recognised and mapped onto the v1 items.

The v2 item list, column order and CSV headers are not published yet (SPEC §3.4), so this module is
table-driven and makes these **assumptions**, all in one place:

* **Recognition.** A v2 CSV always has a header row, and the header names the new item
  ``CODED PROCEDURE START TIMESTAMP``. Header names are compared after normalisation: upper-cased,
  every run of characters other than letters and digits turned into one ``_``, leading and trailing
  ``_`` dropped, so ``Coded Procedure (SNOMED CT)`` and ``CODED_PROCEDURE_SNOMED_CT`` are the same
  column. A file without such a header is read as v1 (18 columns by position).
* **Columns by name, not position**, since the v2 order is unknown. Each known header (``COLUMNS``: the
  v1 CSV headers, the Data Dictionary element names of the v1 items, and the v2 items) maps to a
  record key. A header that is not known is kept under its normalised lower-case name (reported in
  ``CsvLayout.unknown_columns``); two headers for the same key, or a blank header, reject the file.
* **v2 values reach the v1 rules as v1 items.** ``CODED PROCEDURE (NICIP)``/``(SNOMED CT)`` are
  ``imaging_code_nicip``/``imaging_code_snomed``. The start timestamp is kept as
  ``coded_procedure_start_timestamp`` and its **local** date part (the reporting month, SPEC §3.1)
  becomes ``diagnostic_test_date``; the report timestamp likewise gives ``service_report_date``. A
  timestamp that is not ``CCYY-MM-DDThh:mm:ss`` with offset ``+01:00``, ``+00:00``, ``-00:00`` or ``Z``
  is passed on unchanged, so the v1 date-format rule (DIDS045/DIDS061) reports it; a bare
  ``CCYY-MM-DD`` therefore passes as a date (lenient).
* The other new items (end timestamp, priority, activity category, waiting-list clock start) are kept
  under their lower-case names; no v1 rule reads them. v2-only rules (code validity at the end
  timestamp, DIDSREJnnn) are not implemented.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from types import MappingProxyType

from dids.kernel.items import CSV_HEADERS, ITEM_NAMES, V2_ITEM_NAMES
from dids.kernel.timestamps import parse_timestamp

START_TIMESTAMP = "coded_procedure_start_timestamp"
END_TIMESTAMP = "coded_procedure_end_timestamp"
REPORT_TIMESTAMP = "service_report_issue_timestamp"
V2_ITEMS: tuple[str, ...] = V2_ITEM_NAMES
# v1 date item <- the v2 timestamp whose local date it takes
_DATES_FROM_TIMESTAMPS = (("diagnostic_test_date", START_TIMESTAMP), ("service_report_date", REPORT_TIMESTAMP))
# the normalised header that marks a v2 file
V2_MARKER = "CODED_PROCEDURE_START_TIMESTAMP"

_NON_ALNUM = re.compile(r"[^A-Z0-9]+")


def normalise_header(name: str) -> str:
    """``Coded Procedure (SNOMED CT)`` -> ``CODED_PROCEDURE_SNOMED_CT``."""
    return _NON_ALNUM.sub("_", name.strip().upper()).strip("_")


_DATA_DICTIONARY_NAMES = (
    "NHS NUMBER",
    "NHS NUMBER STATUS INDICATOR CODE",
    "PERSON BIRTH DATE",
    "ETHNIC CATEGORY",
    "PERSON GENDER CODE CURRENT",
    "POSTCODE OF USUAL ADDRESS",
    "GENERAL MEDICAL PRACTICE CODE (PATIENT REGISTRATION)",
    "PATIENT SOURCE SETTING TYPE (DIAGNOSTIC IMAGING)",
    "REFERRER CODE",
    "REFERRING ORGANISATION CODE",
    "DIAGNOSTIC TEST REQUEST DATE",
    "DIAGNOSTIC TEST REQUEST RECEIVED DATE",
    "DIAGNOSTIC TEST DATE",
    "IMAGING CODE (NICIP)",
    "IMAGING CODE (SNOMED CT)",
    "SERVICE REPORT ISSUE DATE",
    "SITE CODE (OF IMAGING)",
    "RADIOLOGICAL ACCESSION NUMBER",
)
_V2_NAMES = {
    "CODED PROCEDURE (NICIP)": "imaging_code_nicip",
    "CODED PROCEDURE (SNOMED CT)": "imaging_code_snomed",
    "CODED PROCEDURE (SNOMED)": "imaging_code_snomed",
    **{item.upper(): item for item in V2_ITEMS},
}


def _columns() -> Mapping[str, str]:
    table: dict[str, str] = {}
    for names in (CSV_HEADERS, _DATA_DICTIONARY_NAMES):
        for name, item in zip(names, ITEM_NAMES, strict=True):
            table[normalise_header(name)] = item
    for name, item in _V2_NAMES.items():
        table[normalise_header(name)] = item
    return MappingProxyType(table)


# normalised header -> record key
COLUMNS: Mapping[str, str] = _columns()


def is_v2_header(row: Sequence[str]) -> bool:
    return any(normalise_header(cell) == V2_MARKER for cell in row)


class HeaderError(ValueError):
    """The v2 header cannot be mapped (blank or repeated column); the CSV reader turns it into DIDS075."""


def map_header(row: Sequence[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Record key per column, and the normalised names of the columns not in ``COLUMNS``."""
    keys: list[str] = []
    unknown: list[str] = []
    for position, cell in enumerate(row, start=1):
        name = normalise_header(cell)
        if not name:
            raise HeaderError(f"column {position} of the v2 header is blank")
        key = COLUMNS.get(name)
        if key is None:
            key = name.lower()
            unknown.append(name)
        if key in keys:
            raise HeaderError(f"column {position} ({name}) repeats item {key}")
        keys.append(key)
    for item, timestamp in _DATES_FROM_TIMESTAMPS:
        if item in keys and timestamp in keys:
            raise HeaderError(f"the v2 header carries both {item.upper()} and {timestamp.upper()}")
    return tuple(keys), tuple(unknown)


# CCYY-MM-DDThh:mm:ss and one of the accepted offsets (SPEC §3.1), max an25
def fill_v1_dates(record: dict[str, str | None]) -> None:
    """Set ``diagnostic_test_date``/``service_report_date`` from the v2 timestamps (module docstring).

    Only when the timestamp's column is in the file (``map_header`` forbids having both columns).
    """
    for item, timestamp in _DATES_FROM_TIMESTAMPS:
        if timestamp not in record:
            continue
        value = record[timestamp]
        parsed = None if value is None else parse_timestamp(value)
        record[item] = value if parsed is None else parsed[0]
