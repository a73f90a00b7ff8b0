"""Reference data from CSV files (DESIGN decision 6): one file per table, formats in ``FORMATS.md``.

``load_reference_data(directory)`` reads whichever of the files below are present and returns the
``ReferenceData`` the rules and the derivations use. A table whose file is absent is None, so the rules
that need it report *not checked* and the derivations give NULL. New files are loaded by pointing at a new
directory: nothing here knows particular codes.

Every file is UTF-8 (a byte-order mark is allowed) with a header line naming its columns, in any order
and any letter case. Cells are trimmed; blank is missing. Dates are ``CCYY-MM-DD``; a blank
``valid_from`` / ``valid_to`` is unbounded on that side, and both bounds are inclusive. A bad cell, an
unknown or missing column, or a row with the wrong number of fields raises ``ReferenceDataError`` naming
the file, the line and the column.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, fields
from datetime import date
from pathlib import Path

from dids.kernel.errors import DidsError
from streams.formats import parse_date
from streams.refdata.memory import (
    MemoryLocalCodes,
    MemoryNicip,
    MemoryOds,
    MemoryPostcodeAreas,
    MemoryRestrictedCodes,
    MemorySnomed,
)
from streams.refdata.protocols import (
    Classification,
    LocalCode,
    NicipVersion,
    OdsOrganisation,
    PostcodeArea,
    ReferenceData,
    Relationship,
    RestrictedCode,
    RolePeriod,
    SnomedVersion,
)

SAMPLES_DIR = Path(__file__).parent / "samples"

ODS_ORGANISATIONS = "ods_organisations.csv"
ODS_ROLES = "ods_roles.csv"
ODS_RELATIONSHIPS = "ods_relationships.csv"
ODS_SUCCESSIONS = "ods_successions.csv"
POSTCODES = "postcodes.csv"
NICIP = "nicip.csv"
SNOMED = "snomed.csv"
LOCAL_CODES = "local_codes.csv"
RESTRICTED_CODES = "restricted_codes.csv"

RESTRICTED_SCHEMES = frozenset({"NICIP", "SNOMED"})

_CODE = re.compile(r"[A-Za-z0-9]+")
_DIGITS = re.compile(r"[0-9]+")
_POSTCODE = re.compile(r"[A-Za-z0-9 ]+")


class ReferenceDataError(DidsError):
    """A reference-data file cannot be used; ``file``, ``line`` and ``column`` say where (when known)."""

    def __init__(self, file: str, line: int | None, column: str | None, problem: str) -> None:
        self.file, self.line, self.column, self.problem = file, line, column, problem
        where = ", ".join(
            part
            for part in (file, None if line is None else f"line {line}", None if column is None else f"column {column}")
            if part
        )
        super().__init__(f"{where}: {problem}")


# ---- file layouts ----


@dataclass(frozen=True)
class _Layout:
    """A file's columns: ``required`` must be in the header and non-blank on every row."""

    file: str
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        return self.required + self.optional


_PERIOD = ("valid_from", "valid_to")
AXIS_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(Classification))

LAYOUTS: dict[str, _Layout] = {
    layout.file: layout
    for layout in (
        _Layout(ODS_ORGANISATIONS, ("org_code",), ("name", *_PERIOD)),
        _Layout(ODS_ROLES, ("org_code", "role"), _PERIOD),
        _Layout(ODS_RELATIONSHIPS, ("org_code", "relationship", "target_code"), _PERIOD),
        _Layout(ODS_SUCCESSIONS, ("old_code", "new_code")),
        _Layout(POSTCODES, ("postcode",), ("lsoa", "msoa", *_PERIOD)),
        _Layout(NICIP, ("nicip_code",), ("description", "snomed_id", *_PERIOD, *AXIS_COLUMNS)),
        _Layout(SNOMED, ("snomed_id",), ("term", *_PERIOD, *AXIS_COLUMNS)),
        _Layout(LOCAL_CODES, ("submitter_org", "local_code", "nicip_code"), _PERIOD),
        _Layout(RESTRICTED_CODES, ("scheme", "code"), _PERIOD),
    )
}


# ---- reading ----


@dataclass(frozen=True)
class _Row:
    """One data line of a file: its trimmed cells by column name (blank is None) and where it came from."""

    file: str
    line: int
    values: dict[str, str | None]

    def error(self, column: str | None, problem: str) -> ReferenceDataError:
        return ReferenceDataError(self.file, self.line, column, problem)

    def text(self, column: str) -> str | None:
        return self.values.get(column)

    def required(self, column: str) -> str:
        value = self.values.get(column)
        if value is None:
            raise self.error(column, "value is blank")
        return value

    def optional(self, column: str, pattern: re.Pattern[str], what: str) -> str | None:
        """The value (None when blank) when it fully matches ``pattern``; an error naming ``what`` otherwise."""
        value = self.text(column)
        if value is not None and pattern.fullmatch(value) is None:
            raise self.error(column, f"{value!r} is not {what}")
        return value

    def matching(self, column: str, pattern: re.Pattern[str], what: str) -> str:
        """Like ``optional``, and the value must not be blank."""
        self.required(column)
        return self.optional(column, pattern, what) or ""

    def code(self, column: str) -> str:
        return self.matching(column, _CODE, "a code of letters and digits")

    def date(self, column: str) -> date | None:
        value = self.text(column)
        if value is None:
            return None
        parsed = parse_date(value)
        if parsed is None:
            raise self.error(column, f"{value!r} is not a valid CCYY-MM-DD date")
        return parsed

    def period(self) -> tuple[date | None, date | None]:
        """(valid_from, valid_to); an error when valid_to is before valid_from."""
        start, end = self.date("valid_from"), self.date("valid_to")
        if start is not None and end is not None and end < start:
            raise self.error("valid_to", f"{end.isoformat()} is before valid_from {start.isoformat()}")
        return start, end


def _read(directory: Path, name: str) -> list[_Row] | None:
    """The rows of ``directory/name``; None when the file does not exist."""
    path = directory / name
    if not path.is_file():
        return None
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return list(_rows(csv.reader(handle), LAYOUTS[name]))
    except UnicodeDecodeError as exc:
        raise ReferenceDataError(name, None, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except csv.Error as exc:
        raise ReferenceDataError(name, None, None, f"not readable as CSV: {exc}") from exc


def _rows(reader, layout: _Layout) -> Iterator[_Row]:
    header = next(reader, None)
    if header is None:
        raise ReferenceDataError(layout.file, 1, None, f"empty file: the first line must be the header {_list(layout)}")
    names = _check_header([cell.strip().lower() for cell in header], layout)
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue  # blank line
        if len(cells) != len(names):
            problem = f"{len(cells)} fields, but the header has {len(names)}"
            raise ReferenceDataError(layout.file, reader.line_num, None, problem)
        values = {name: cell.strip() or None for name, cell in zip(names, cells, strict=True)}
        yield _Row(layout.file, reader.line_num, values)


def _check_header(names: list[str], layout: _Layout) -> list[str]:
    for name in names:
        if name not in layout.columns:
            raise ReferenceDataError(layout.file, 1, name or "(blank)", f"unknown column; expected {_list(layout)}")
        if names.count(name) > 1:
            raise ReferenceDataError(layout.file, 1, name, "column named twice")
    for name in layout.required:
        if name not in names:
            raise ReferenceDataError(layout.file, 1, name, "required column missing from the header")
    return names


def _list(layout: _Layout) -> str:
    return ",".join(layout.columns)


# ---- tables ----


def load_reference_data(directory: Path) -> ReferenceData:
    """Load every reference table found in ``directory`` (see module docstring and ``FORMATS.md``).

    Raises ``ReferenceDataError`` when the directory does not exist or any file is malformed.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise ReferenceDataError(str(directory), None, None, "reference-data directory not found")
    postcodes = _load_postcodes(directory)
    return ReferenceData(
        ods=_load_ods(directory),
        postcodes=postcodes,
        nicip=_load_nicip(directory),
        snomed=_load_snomed(directory),
        geography=postcodes,
        local_codes=_load_local_codes(directory),
        restricted=_load_restricted(directory),
    )


def load_samples() -> ReferenceData:
    """The small realistic samples shipped in ``streams/refdata/samples`` (demo and tests)."""
    return load_reference_data(SAMPLES_DIR)


def _load_ods(directory: Path) -> MemoryOds | None:
    """ODS: organisations and sites, plus their roles, relationships and successions when supplied."""
    organisations = _read(directory, ODS_ORGANISATIONS)
    extras = {name: _read(directory, name) for name in (ODS_ROLES, ODS_RELATIONSHIPS, ODS_SUCCESSIONS)}
    if organisations is None:
        for name, rows in extras.items():
            if rows is not None:
                raise ReferenceDataError(name, None, None, f"needs {ODS_ORGANISATIONS} in the same directory")
        return None
    known: dict[str, _Row] = {}
    for row in organisations:
        code = row.code("org_code")
        if code in known:
            raise row.error("org_code", f"{code!r} already on line {known[code].line}")
        known[code] = row
        row.period()
    roles: dict[str, list[RolePeriod]] = defaultdict(list)
    for row in extras[ODS_ROLES] or ():
        roles[_member(row, known)].append(RolePeriod(row.code("role"), *row.period()))
    links: dict[str, list[Relationship]] = defaultdict(list)
    for row in extras[ODS_RELATIONSHIPS] or ():
        code = _member(row, known)
        links[code].append(Relationship(row.code("relationship"), row.code("target_code"), *row.period()))
    built = tuple(
        OdsOrganisation(code, *row.period(), tuple(roles[code]), row.text("name"), tuple(links[code]))
        for code, row in known.items()
    )
    successions = tuple((row.code("old_code"), row.code("new_code")) for row in extras[ODS_SUCCESSIONS] or ())
    return MemoryOds(built, successions)


def _member(row: _Row, known: dict[str, _Row]) -> str:
    code = row.code("org_code")
    if code not in known:
        raise row.error("org_code", f"{code!r} is not in {ODS_ORGANISATIONS}")
    return code


def _load_postcodes(directory: Path) -> MemoryPostcodeAreas | None:
    rows = _read(directory, POSTCODES)
    if rows is None:
        return None
    areas = []
    for row in rows:
        postcode = row.matching("postcode", _POSTCODE, "a postcode (letters, digits and spaces)")
        lsoa = row.optional("lsoa", _CODE, "an area code")
        msoa = row.optional("msoa", _CODE, "an area code")
        areas.append(PostcodeArea(postcode, lsoa, msoa, *row.period()))
    return MemoryPostcodeAreas(tuple(areas))


def _load_nicip(directory: Path) -> MemoryNicip | None:
    rows = _read(directory, NICIP)
    if rows is None:
        return None
    return MemoryNicip(
        tuple(
            NicipVersion(
                row.code("nicip_code"),
                *row.period(),
                snomed_id=row.optional("snomed_id", _DIGITS, "a SNOMED CT id (digits)"),
                description=row.text("description"),
                classification=_classification(row),
            )
            for row in rows
        )
    )


def _load_snomed(directory: Path) -> MemorySnomed | None:
    rows = _read(directory, SNOMED)
    if rows is None:
        return None
    return MemorySnomed(
        tuple(
            SnomedVersion(
                row.matching("snomed_id", _DIGITS, "a SNOMED CT id (digits)"),
                *row.period(),
                term=row.text("term"),
                classification=_classification(row),
            )
            for row in rows
        )
    )


def _classification(row: _Row) -> Classification | None:
    """The axis columns of a NICIP or SNOMED row; None when every one is blank."""
    values = {column: row.text(column) for column in AXIS_COLUMNS}
    for column, value in values.items():
        if column.endswith("_id") and value is not None and _DIGITS.fullmatch(value) is None:
            raise row.error(column, f"{value!r} is not a SNOMED CT id (digits)")
    if all(value is None for value in values.values()):
        return None
    return Classification(**values)


def _load_local_codes(directory: Path) -> MemoryLocalCodes | None:
    rows = _read(directory, LOCAL_CODES)
    if rows is None:
        return None
    return MemoryLocalCodes(
        tuple(
            LocalCode(row.code("submitter_org"), row.required("local_code"), row.code("nicip_code"), *row.period())
            for row in rows
        )
    )


def _load_restricted(directory: Path) -> MemoryRestrictedCodes | None:
    rows = _read(directory, RESTRICTED_CODES)
    if rows is None:
        return None
    codes = []
    for row in rows:
        scheme = row.required("scheme").upper()
        if scheme not in RESTRICTED_SCHEMES:
            raise row.error("scheme", f"{row.text('scheme')!r} is not NICIP or SNOMED")
        codes.append(RestrictedCode(scheme, row.code("code"), *row.period()))
    return MemoryRestrictedCodes(tuple(codes))
