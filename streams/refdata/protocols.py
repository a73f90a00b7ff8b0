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
class Relationship:
    """One dated ODS relationship from an organisation to ``target``.

    ``RE4`` is commissioned by (GP practice -> sub-ICB location), ``RE5`` is located in the geography of
    (sub-ICB location -> ICB), ``RE6`` is operated by (site -> its trust or company).
    """

    relationship: str
    target: str
    start: date | None = None
    end: date | None = None


@dataclass(frozen=True)
class OdsOrganisation:
    """An ODS organisation or site. ``close_date`` None means still open.

    ``name`` is the ODS name (the current one: ODS does not date names) and ``relationships`` its dated
    relationships to other organisations; the rules use neither, the derivations both.
    """

    code: str
    open_date: date | None = None
    close_date: date | None = None
    roles: tuple[RolePeriod, ...] = ()
    name: str | None = None
    relationships: tuple[Relationship, ...] = ()


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


@dataclass(frozen=True)
class PostcodeArea:
    """One dated row of the ONS Postcode Directory: the postcode's LSOA and MSOA from ``start`` to ``end``."""

    postcode: str
    lsoa: str | None
    msoa: str | None
    start: date | None = None
    end: date | None = None


class PostcodeGeography(Protocol):
    """Postcode -> Lower / Middle Layer Super Output Area, with dates (the derivations' view of the ONSPD)."""

    def areas(self, postcode: str) -> Sequence[PostcodeArea]:
        """Every dated row of the postcode (case and whitespace do not matter); empty when unknown."""
        ...


# ---- NICIP and imaging SNOMED CT tables ----


@dataclass(frozen=True)
class Classification:
    """The clinical classification axes of an imaging examination (DIDS-SPEC §7.6), each id and name.

    Ids are SNOMED CT concept ids as text; the early-cancer-diagnosis labels have no id. Any value may be
    None when the reference table leaves it blank.
    """

    morphology_id: str | None = None
    morphology: str | None = None
    modality_id: str | None = None
    modality: str | None = None
    sub_modality_id: str | None = None
    sub_modality: str | None = None
    region_id: str | None = None
    region: str | None = None
    sub_region_id: str | None = None
    sub_region: str | None = None
    system_id: str | None = None
    system: str | None = None
    sub_system_id: str | None = None
    sub_system: str | None = None
    sub_system_component_id: str | None = None
    sub_system_component: str | None = None
    fetal_id: str | None = None
    fetal: str | None = None
    early_cancer_diagnosis: str | None = None
    sub_early_cancer_diagnosis: str | None = None


@dataclass(frozen=True)
class NicipVersion:
    """One dated version of a NICIP code, with the SNOMED CT concept it maps to while in force.

    ``description`` and ``classification`` serve the derivations: the classification is used when the
    mapped concept is not in the imaging examination lookup (DIDS-SPEC §7.6, "else nicip_row itself").
    """

    code: str
    eff_from: date | None
    eff_to: date | None = None
    snomed_id: str | None = None
    description: str | None = None
    classification: Classification | None = None


@dataclass(frozen=True)
class SnomedVersion:
    """One dated version of a concept in the imaging SNOMED CT table (the imaging examination lookup).

    ``term`` and ``classification`` serve the derivations; the rules only use the dates.
    """

    concept_id: str
    eff_from: date | None
    eff_to: date | None = None
    term: str | None = None
    classification: Classification | None = None


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


# ---- per-submitter local codes (DIDS-SPEC §7.7) and restricted codes (§7.8) ----


@dataclass(frozen=True)
class LocalCode:
    """One dated entry of a submitter's local exam code -> NICIP map."""

    submitter: str
    local_code: str
    nicip_code: str
    start: date | None = None
    end: date | None = None


class LocalCodeMap(Protocol):
    """Per-submitter local RIS exam codes mapped to national NICIP codes."""

    def versions(self, submitter: str, local_code: str) -> Sequence[LocalCode]:
        """Every dated entry for the pair (matched in upper case); empty when there is none."""
        ...


@dataclass(frozen=True)
class RestrictedCode:
    """One dated entry of the restricted (fertility-related) procedure list; ``scheme`` NICIP or SNOMED."""

    scheme: str
    code: str
    start: date | None = None
    end: date | None = None


class RestrictedCodeList(Protocol):
    """The versioned list of restricted procedure codes."""

    def versions(self, scheme: str, code: str) -> Sequence[RestrictedCode]:
        """Every dated entry of the code in ``scheme`` (``NICIP`` or ``SNOMED``); empty when not listed."""
        ...


@dataclass(frozen=True)
class ReferenceData:
    """The reference-data snapshot the rules run against; any table may be missing (None).

    ``geography``, ``local_codes`` and ``restricted`` serve the derivations only. A loader fills
    ``postcodes`` and ``geography`` with the same directory when its rows carry LSOA/MSOA codes.
    """

    ods: OdsDirectory | None = None
    postcodes: PostcodeDirectory | None = None
    nicip: NicipTable | None = None
    snomed: SnomedTable | None = None
    geography: PostcodeGeography | None = None
    local_codes: LocalCodeMap | None = None
    restricted: RestrictedCodeList | None = None
