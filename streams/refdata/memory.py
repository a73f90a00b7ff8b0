"""In-memory reference data built from lists of rows: for tests, demos and small loaded samples.

Each class indexes its rows once at construction and then only answers lookups.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from streams.refdata.protocols import (
    LocalCode,
    NicipVersion,
    OdsOrganisation,
    PostcodeArea,
    RestrictedCode,
    RolePeriod,
    SnomedVersion,
    postcode_key,
)


@dataclass(frozen=True)
class MemoryOds:
    """ODS from organisation rows and ``(old_code, new_code)`` succession pairs."""

    organisations: tuple[OdsOrganisation, ...] = ()
    successions: tuple[tuple[str, str], ...] = ()
    _by_code: dict[str, OdsOrganisation] = field(init=False, repr=False, compare=False)
    _next: dict[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_code = {org.code: org for org in self.organisations}
        following: dict[str, list[str]] = defaultdict(list)
        for old, new in self.successions:
            following[old].append(new)
        # frozen dataclass: the indexes are set once here and never change afterwards
        object.__setattr__(self, "_by_code", by_code)
        object.__setattr__(self, "_next", {old: tuple(new) for old, new in following.items()})

    @classmethod
    def from_rows(
        cls,
        organisations: Iterable[tuple[str, date | None, date | None]],
        roles: Iterable[tuple[str, str, date | None, date | None]] = (),
        successions: Iterable[tuple[str, str]] = (),
    ) -> MemoryOds:
        """Build from ``(code, open, close)``, ``(code, role, start, end)`` and ``(old, new)`` rows."""
        held: dict[str, list[RolePeriod]] = defaultdict(list)
        for code, role, start, end in roles:
            held[code].append(RolePeriod(role, start, end))
        orgs = tuple(
            OdsOrganisation(code, open_date, close_date, tuple(held.get(code, ())))
            for code, open_date, close_date in organisations
        )
        return cls(orgs, tuple(successions))

    def lookup(self, code: str) -> OdsOrganisation | None:
        return self._by_code.get(code)

    def successors(self, code: str) -> Sequence[str]:
        return self._next.get(code, ())


@dataclass(frozen=True)
class MemoryPostcodes:
    """The ONS Postcode Directory as a set of postcodes (any case and spacing)."""

    postcodes: tuple[str, ...] = ()
    _keys: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_keys", frozenset(postcode_key(p) for p in self.postcodes))

    def contains(self, postcode: str) -> bool:
        return postcode_key(postcode) in self._keys


@dataclass(frozen=True)
class MemoryNicip:
    """The NICIP table from its version rows; codes are matched in upper case."""

    rows: tuple[NicipVersion, ...] = ()
    _by_code: dict[str, tuple[NicipVersion, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_code", _group(self.rows, lambda row: row.code.upper()))

    def versions(self, code: str) -> Sequence[NicipVersion]:
        return self._by_code.get(code.upper(), ())


@dataclass(frozen=True)
class MemorySnomed:
    """The imaging SNOMED CT table from its version rows."""

    rows: tuple[SnomedVersion, ...] = ()
    _by_id: dict[str, tuple[SnomedVersion, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", _group(self.rows, lambda row: row.concept_id))

    def versions(self, concept_id: str) -> Sequence[SnomedVersion]:
        return self._by_id.get(concept_id, ())


@dataclass(frozen=True)
class MemoryPostcodeAreas:
    """The ONS Postcode Directory with LSOA/MSOA rows: both ``PostcodeDirectory`` and ``PostcodeGeography``.

    ``contains`` is True for any postcode with a row, whatever its dates (terminated postcodes count).
    """

    rows: tuple[PostcodeArea, ...] = ()
    _by_key: dict[str, tuple[PostcodeArea, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_key", _group(self.rows, lambda row: postcode_key(row.postcode)))

    def contains(self, postcode: str) -> bool:
        return postcode_key(postcode) in self._by_key

    def areas(self, postcode: str) -> Sequence[PostcodeArea]:
        return self._by_key.get(postcode_key(postcode), ())


@dataclass(frozen=True)
class MemoryLocalCodes:
    """Per-submitter local code -> NICIP entries; submitter and local code are matched in upper case."""

    rows: tuple[LocalCode, ...] = ()
    _by_pair: dict[tuple[str, str], tuple[LocalCode, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_pair = _group(self.rows, lambda row: (row.submitter.strip().upper(), row.local_code.strip().upper()))
        object.__setattr__(self, "_by_pair", by_pair)

    def versions(self, submitter: str, local_code: str) -> Sequence[LocalCode]:
        return self._by_pair.get((submitter.strip().upper(), local_code.strip().upper()), ())


@dataclass(frozen=True)
class MemoryRestrictedCodes:
    """The restricted procedure list; scheme and code are matched in upper case."""

    rows: tuple[RestrictedCode, ...] = ()
    _by_code: dict[tuple[str, str], tuple[RestrictedCode, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_code = _group(self.rows, lambda row: (row.scheme.strip().upper(), row.code.strip().upper()))
        object.__setattr__(self, "_by_code", by_code)

    def versions(self, scheme: str, code: str) -> Sequence[RestrictedCode]:
        return self._by_code.get((scheme.strip().upper(), code.strip().upper()), ())


def _group(rows, key) -> dict:
    grouped: dict = defaultdict(list)
    for row in rows:
        grouped[key(row)].append(row)
    return {k: tuple(v) for k, v in grouped.items()}
