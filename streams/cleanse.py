"""Cleansing before any rule runs (DIDS-RULES §1.2, DIDS-SPEC §4).

National processing trims every field, treats blank as missing and strips spaces and hyphens out of the
NHS number; it changes nothing else (no postcode re-spacing, no date reformatting, no case changes).

One recommended assumption is applied by default (DIDS-SPEC §4): the NICIP code is upper-cased here, so
validation, classification and storage all see the same code. Pass ``upper_case_nicip=False`` to keep the
submitted case, as national processing stores it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields

from dids.kernel.items import ITEM_NAMES

# every whitespace character (str.split() semantics) and the hyphen, anywhere in the value
_NHS_NUMBER_SEPARATORS = re.compile(r"[\s\-]+")


@dataclass(frozen=True, slots=True)
class CleansedRecord:
    """One examination after cleansing: the 18 items by name, each a non-empty string or None.

    A value is never empty or padded: blank after trimming is None. Field order is national column order
    (``dids.kernel.items.ITEM_NAMES``). Frozen, so a derivation (for example the referrer code ``99`` of
    DIDS023) never rewrites it; derived values travel beside it.
    """

    nhs_number: str | None = None
    nhs_number_status_ind: str | None = None
    person_birth_date: str | None = None
    ethnic_category: str | None = None
    person_gender_code: str | None = None
    postcode: str | None = None
    practice_code: str | None = None
    patient_source_setting: str | None = None
    referrer: str | None = None
    referring_org_code: str | None = None
    diagnostic_test_request_date: str | None = None
    diag_test_request_rec_date: str | None = None
    diagnostic_test_date: str | None = None
    imaging_code_nicip: str | None = None
    imaging_code_snomed: str | None = None
    service_report_date: str | None = None
    site_code_imaging: str | None = None
    radiological_accession_num: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        """The 18 items as a plain dict, in national column order."""
        return asdict(self)


# the dataclass above is spelled out for type checkers and readers; it must stay in step with the catalogue
if tuple(f.name for f in fields(CleansedRecord)) != ITEM_NAMES:
    raise RuntimeError("CleansedRecord fields differ from dids.kernel.items.ITEM_NAMES")


def cleanse(raw: Mapping[str, str | None], *, upper_case_nicip: bool = True) -> CleansedRecord:
    """Cleanse one raw record keyed by ``ITEM_NAMES``.

    * Every item is trimmed of leading and trailing whitespace; empty after trimming becomes None.
    * The NHS number additionally loses every whitespace character and hyphen, inside it too
      (``943 476-5919`` becomes ``9434765919``); nothing left means None.
    * The NICIP code is upper-cased unless ``upper_case_nicip`` is False.
    * A missing key reads as None (an XML empty element, for instance). Keys other than the 18 items
      (event metadata, say) are ignored. A value that is neither str nor None raises TypeError: callers
      must hand over the raw text exactly as submitted.
    """
    values: dict[str, str | None] = {}
    for name in ITEM_NAMES:
        value = raw.get(name)
        if value is not None and not isinstance(value, str):
            raise TypeError(f"item {name!r} must be str or None, not {type(value).__name__}")
        values[name] = _blank_to_none(value)
    values["nhs_number"] = _clean_nhs_number(values["nhs_number"])
    nicip = values["imaging_code_nicip"]
    if upper_case_nicip and nicip is not None:
        values["imaging_code_nicip"] = nicip.upper()
    return CleansedRecord(**values)


def _blank_to_none(value: str | None) -> str | None:
    if value is None:
        return None
    return value.strip() or None


def _clean_nhs_number(value: str | None) -> str | None:
    if value is None:
        return None
    return _NHS_NUMBER_SEPARATORS.sub("", value) or None
