"""What the national rules need from reference data, as small read-only Protocols.

Loaders (CSV, warehouse, ...) implement these; ``streams.refdata.memory`` has in-memory versions.
Every date range is inclusive at both ends and ``None`` means unbounded on that side.
A rule whose table is absent (``None`` in ``ReferenceData``) reports *not checked*, never a pass.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

# ---- ODS: organisations and sites, their roles, open/close dates and successions ----


@dataclass(frozen=True)
class RolePeriod:
    """One ODS role held by an organisation, e.g. ``RO76`` (GP practice), from ``start`` to ``end``."""

    role: str
    start: date | None = None
    end: date | None = None


@dataclass(frozen=True)
class OdsOrganisation:
    """An ODS organisation or site. ``close_date`` None means still open."""

    code: str
    open_date: date | None = None
    close_date: date | None = None
    roles: tuple[RolePeriod, ...] = ()


class OdsDirectory(Protocol):
    """ODS organisations and sites at every point in their history."""

    def lookup(self, code: str) -> OdsOrganisation | None:
        """The organisation or site with exactly this code, or None when ODS never held it."""
        ...

    def successors(self, code: str) -> Sequence[str]:
        """The codes that directly succeeded ``code`` (merger, re-coding); empty when none."""
        ...


# ---- ONS Postcode Directory ----


def postcode_key(postcode: str) -> str:
    """The lookup key of a postcode: upper case with every whitespace removed (spaces are optional)."""
    return re.sub(r"\s+", "", postcode).upper()


class PostcodeDirectory(Protocol):
    """The ONS Postcode Directory, live and terminated postcodes alike."""

    def contains(self, postcode: str) -> bool:
        """True when the postcode is in the directory; case and whitespace do not matter."""
        ...


# ---- NICIP and imaging SNOMED CT tables ----


@dataclass(frozen=True)
class NicipVersion:
    """One dated version of a NICIP code, with the SNOMED CT concept it maps to while in force."""

    code: str
    eff_from: date | None
    eff_to: date | None = None
    snomed_id: str | None = None


@dataclass(frozen=True)
class SnomedVersion:
    """One dated version of a concept in the imaging SNOMED CT table."""

    concept_id: str
    eff_from: date | None
    eff_to: date | None = None


class NicipTable(Protocol):
    """The NICIP table with its dated NICIP -> SNOMED CT map."""

    def versions(self, code: str) -> Sequence[NicipVersion]:
        """Every version of the (upper-case) code; empty when the code is unknown."""
        ...


class SnomedTable(Protocol):
    """The imaging SNOMED CT table."""

    def versions(self, concept_id: str) -> Sequence[SnomedVersion]:
        """Every version of the concept; empty when it is unknown."""
        ...


@dataclass(frozen=True)
class ReferenceData:
    """The reference-data snapshot the rules run against; any table may be missing (None)."""

    ods: OdsDirectory | None = None
    postcodes: PostcodeDirectory | None = None
    nicip: NicipTable | None = None
    snomed: SnomedTable | None = None
