"""Code-list labels of the national record (DIDS-SPEC §2.2, §7.3); the columns are
``streams.columnar.derivations``'. A label is null for a blank or unknown code; the ethnic category is
looked up upper-cased (``a`` gives ``British`` although DIDS012 rejects ``a``), ``99`` has no group;
GENDER_CODE is the code as a small integer only when it is exactly ``0``, ``1``, ``2`` or ``9``;
NHS_NUMBER_SUPPLIED is 1 when the cleansed NHS number is non-empty (valid or not)."""

from __future__ import annotations

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
