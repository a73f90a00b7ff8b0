"""Code-list labels, the NHS-number flag and the month/year of the test (DIDS-SPEC §2.2, §7.3)."""

from __future__ import annotations

from streams.formats import parse_calendar_date

NHS_NUMBER_STATUS_LABELS: dict[str, str] = {
    "01": "Number present and verified",
    "02": "Number present but not traced",
    "03": "Trace required",
    "04": "Trace attempted - No match or multiple match found",
    "05": "Trace needs to be resolved (NHS Number or patient detail conflict)",
    "06": "Trace in progress",
    "07": "Number not present and trace not required",
    "08": "Trace postponed (baby under six weeks old)",
}

_WHITE, _MIXED, _ASIAN = "White", "Mixed", "Asian or Asian British"
_BLACK, _OTHER = "Black or Black British", "Other Ethnic Groups"
# code -> (description, group); 99 has no group
ETHNIC_CATEGORIES: dict[str, tuple[str, str | None]] = {
    "A": ("British", _WHITE),
    "B": ("Irish", _WHITE),
    "C": ("Any other White background", _WHITE),
    "D": ("White and Black Caribbean", _MIXED),
    "E": ("White and Black African", _MIXED),
    "F": ("White and Asian", _MIXED),
    "G": ("Any other mixed background", _MIXED),
    "H": ("Indian", _ASIAN),
    "J": ("Pakistani", _ASIAN),
    "K": ("Bangladeshi", _ASIAN),
    "L": ("Any other Asian background", _ASIAN),
    "M": ("Caribbean", _BLACK),
    "N": ("African", _BLACK),
    "P": ("Any other Black background", _BLACK),
    "R": ("Chinese", _OTHER),
    "S": ("Any other ethnic group", _OTHER),
    "Z": ("Not stated", "Not stated"),
    "99": ("Not Known", None),
}

GENDER_LABELS: dict[str, str] = {"0": "Not Known", "1": "Male", "2": "Female", "9": "Not Specified"}

PATIENT_SOURCE_SETTING_LABELS: dict[str, str] = {
    "01": "Admitted Patient Care - Inpatient (this Health Care Provider)",
    "02": "Admitted Patient Care - Day case (this Health Care Provider)",
    "03": "Out-patient (this Health Care Provider)",
    "04": "GP Direct Access",
    "05": "Accident and Emergency Department (this Health Care Provider)",
    "06": "Other Health Care Provider",
    "07": "Other",
}


def nhs_number_status_description(code: str | None) -> str | None:
    """NHS_NUMBER_STATUS_DESCRIPTION: the §2.2.1 label; None when blank or not ``01``-``08``."""
    return None if code is None else NHS_NUMBER_STATUS_LABELS.get(code)


def nhs_number_supplied(nhs_number: str | None) -> int:
    """NHS_NUMBER_SUPPLIED: 1 when the cleansed NHS number is non-empty (valid or not), else 0."""
    return 0 if nhs_number is None or not nhs_number.strip() else 1


def ethnic_category_description(code: str | None) -> str | None:
    """ETHNIC_CATEGORY_DESCRIPTION: the §2.2.2 label of the upper-cased code (``a`` gives ``British``,
    although DIDS012 rejects ``a``); None when blank or unknown."""
    return None if code is None else ETHNIC_CATEGORIES.get(code.upper(), (None, None))[0]


def ethnic_category_group(code: str | None) -> str | None:
    """ETHNIC_CATEGORY_GROUP: the group of the upper-cased code; ``Z`` is ``Not stated``; ``99``, blank or
    unknown give None."""
    return None if code is None else ETHNIC_CATEGORIES.get(code.upper(), (None, None))[1]


def gender_code(code: str | None) -> int | None:
    """GENDER_CODE: the code as a small integer; None unless it is exactly ``0``, ``1``, ``2`` or ``9``."""
    return int(code) if code in GENDER_LABELS else None


def gender_description(code: str | None) -> str | None:
    """GENDER_DESCRIPTION: ``Not Known``, ``Male``, ``Female``, ``Not Specified``; None otherwise."""
    return None if code is None else GENDER_LABELS.get(code)


def patient_source_setting_description(code: str | None) -> str | None:
    """PATIENT_SOURCE_SETTING_DESCRIPTION: the §2.2.3 label; None when blank or not ``01``-``07``."""
    return None if code is None else PATIENT_SOURCE_SETTING_LABELS.get(code)


def month_and_year_of_test(test_date: str | None) -> tuple[int | None, int | None]:
    """MONTH_OF_TEST (1-12) and YEAR_OF_TEST: calendar, not financial; (None, None) when unusable."""
    test = parse_calendar_date(test_date)
    return (None, None) if test is None else (test.month, test.year)
