"""Clinical classification and the imaging-code outputs, SNOMED CT first (DIDS-SPEC §7.5, §7.6).

The NICIP table gives each code's description and mapped SNOMED CT concept; the imaging examination
lookup (the SNOMED table) gives each concept's term and classification axes. Every lookup is as at the
test date; a code accepted only through the grace period is classified with its last active version
(assumption of §7.6, see ``asat.code_as_at``), so it is not left unclassified as nationally.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from streams.formats import CalendarDate
from streams.memo import table_memo
from streams.refdata.protocols import Classification, NicipTable, NicipVersion, SnomedTable, SnomedVersion
from streams.rules.context import GracePeriod

from .asat import code_as_at

# the national axis columns are the upper-cased Classification fields: MORPHOLOGY_ID ... SUB_EARLY_CANCER_DIAGNOSIS
AXIS_COLUMNS: dict[str, str] = {f.name: f.name.upper() for f in fields(Classification)}


@dataclass(frozen=True)
class ImagingResult:
    """What the classification found for one record; every value may be None."""

    nicip_description: str | None = None
    snomed_description: str | None = None
    derived_snomed: str | None = None
    derived_snomed_description: str | None = None
    classification: Classification | None = None

    def columns(self) -> dict[str, str | None]:
        """The description, derived-concept and axis columns of the national record."""
        axes = self.classification or Classification()
        return {
            "IMAGING_CODE_NICIP_DESCRIPTION": self.nicip_description,
            "IMAGING_CODE_SNOMED_CT_DESCRIPTION": self.snomed_description,
            **{column: getattr(axes, name) for name, column in AXIS_COLUMNS.items()},
            "DERIVED_IMAGING_CODE_SNOMED_CT": self.derived_snomed,
            "DERIVED_IMAGING_CODE_SNOMED_CT_DESCRIPTION": self.derived_snomed_description,
        }


def _nicip_row(code: str | None, table: NicipTable | None, on, grace) -> NicipVersion | None:
    if code is None or table is None or not code.strip():
        return None
    return _row_as_at(table, code.strip().upper(), on, grace)


def _snomed_row(concept: str | None, table: SnomedTable | None, on, grace) -> SnomedVersion | None:
    if concept is None or table is None or not concept.strip():
        return None
    return _row_as_at(table, concept.strip(), on, grace)


def _row_as_at(table: NicipTable | SnomedTable, code: str, on, grace):
    """``code_as_at`` of the code's versions: a pure function of a read-only table (streams.memo)."""
    memo = table_memo(table, "row_as_at")
    key = (code, on, grace)
    try:
        return memo[key]
    except KeyError:
        row = memo[key] = code_as_at(table.versions(code), on, grace)
        return row


def classify(
    nicip_code: str | None,
    snomed_code: str | None,
    nicip: NicipTable | None,
    snomed: SnomedTable | None,
    on: CalendarDate | None,
    grace: GracePeriod,
) -> ImagingResult:
    """The §7.6 algorithm.

    ``snomed_row`` is the examination-lookup row of the submitted SNOMED CT code; ``nicip_row`` the
    NICIP-table row of the submitted NICIP code, and the NICIP result is the lookup row of its mapped
    concept, or the NICIP row itself when that concept is not in the lookup. The SNOMED row wins every
    axis when present; else the NICIP result; else nothing (the record failed DIDS056/057/059). When
    the NICIP result is a lookup row without axes, the NICIP row's own axes are used.

    IMAGING_CODE_NICIP_DESCRIPTION is the NICIP row's description whenever a NICIP code was found, even
    when the SNOMED row won. IMAGING_CODE_SNOMED_CT_DESCRIPTION is the submitted concept's term. The
    derived concept is the one actually used (assumption): the submitted SNOMED CT when its row won,
    else the NICIP's mapped concept, with its term when the lookup has it.
    """
    snomed_row = _snomed_row(snomed_code, snomed, on, grace)
    nicip_row = _nicip_row(nicip_code, nicip, on, grace)
    result = ImagingResult(
        nicip_description=nicip_row.description if nicip_row else None,
        snomed_description=snomed_row.term if snomed_row else None,
    )
    if snomed_row is not None:
        return _with(result, snomed_row.concept_id, snomed_row.term, snomed_row.classification)
    if nicip_row is None:
        return result
    mapped = _snomed_row(nicip_row.snomed_id, snomed, on, grace)
    if mapped is None:
        return _with(result, nicip_row.snomed_id, None, nicip_row.classification)
    return _with(result, mapped.concept_id, mapped.term, mapped.classification or nicip_row.classification)


def _with(result: ImagingResult, concept: str | None, term: str | None, axes: Classification | None) -> ImagingResult:
    return ImagingResult(result.nicip_description, result.snomed_description, concept, term, axes)
