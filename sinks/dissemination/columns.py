"""The published allow-list of extract columns: what an agreement may ask for, named as the analyst
tables name them, each with the expression over ``current_examinations`` that gives it.

``person_id`` is special: in an extract it is the recipient's own pseudonym (``pseudonyms``), never the
warehouse's. Identifiers (DIDS-SPEC §11) are not on the list and are refused by name with the reason:
the warehouse holds no NHS number, postcode or birth date, and the accession number, record key and
event, file and Kafka ids would tie a row back to a RIS entry.
"""

from __future__ import annotations

PERSON_ID = "person_id"

# name -> what it is; every name is a column of current_examinations
EXTRACT_COLUMNS: dict[str, str] = {
    PERSON_ID: "the recipient's own pseudonym of the person (keyed hash; empty for restricted codes)",
    "provider_code": "ODS code of the provider (trust)",
    "provider_name": "provider name",
    "site_code": "ODS code of the site where the test was done",
    "provider_site_code_description": "site name",
    "region_id": "NHS England region code",
    "region": "NHS England region name",
    "sub_region_id": "sub-region code",
    "commissioning_organisation_code": "commissioner code",
    "ccg_code": "sub-ICB location of the patient's GP practice",
    "gp_code": "GP practice code",
    "diagnostic_test_date": "date of the test",
    "diagnostic_test_request_date": "date the test was requested",
    "diagnostic_test_request_received_date": "date the request was received",
    "service_report_issue_date": "date the report was issued",
    "month_of_test": "month of the test (1-12)",
    "year_of_test": "year of the test",
    "patient_source_setting": "patient source setting code",
    "patient_source_setting_description": "patient source setting",
    "derived_referrer_type": "referrer type",
    "referrer_organisation_code": "referring organisation code",
    "imaging_code_nicip": "NICIP code as submitted",
    "imaging_code_nicip_description": "NICIP description",
    "derived_imaging_code_snomed_ct": "SNOMED CT code (derived)",
    "derived_imaging_code_snomed_ct_description": "SNOMED CT description",
    "modality": "modality",
    "sub_modality": "sub-modality",
    "system": "body system",
    "sub_system": "body sub-system",
    "morphology": "morphology",
    "fetal": "fetal examination",
    "early_cancer_diagnosis": "test group relevant to early cancer diagnosis",
    "sub_early_cancer_diagnosis": "its sub-group",
    "age_band_5_years": "age at test, 5-year band",
    "age_band_10_years": "age at test, 10-year band",
    "age_at_event": "age at test in years",
    "gender_code": "gender code",
    "ethnic_category_code": "ethnic category code",
    "ethnic_category_group": "ethnic category group",
    "location_lsoa": "LSOA of residence",
    "location_msoa": "MSOA of residence",
    "test_request_to_test": "days from request to test",
    "test_request_received_to_test": "days from request received to test",
    "test_to_service_report_issued": "days from test to report",
    "test_request_to_service_report_issued": "days from request to report",
}

# asked for by these names, the answer is "never", with the reason
IDENTIFIERS: dict[str, str] = {
    "nhs_number": "the NHS number is never held by the warehouse nor extracted; ask for person_id, a pseudonym",
    "postcode": "the postcode is never held; ask for location_lsoa or location_msoa",
    "patient_postcode": "the postcode is never held; ask for location_lsoa or location_msoa",
    "birth_date": "the birth date is never held; ask for age_at_event or an age band",
    "person_birth_date": "the birth date is never held; ask for age_at_event or an age band",
    "date_of_birth": "the birth date is never held; ask for age_at_event or an age band",
    "accession_number": "the accession number ties a row back to a RIS entry and is never extracted",
    "record_key": "the record key holds the accession number and is never extracted",
    "event_id": "event ids tie a row back to a RIS message and are never extracted",
    "submission_id": "file ids tie a row back to a submitted file and are never extracted",
    "submission_data_id": "file ids tie a row back to a submitted file and are never extracted",
    "row_number": "the row number in a submitted file ties a row back to it and is never extracted",
    "mpsconfidence": "person-tracing details are for internal linkage only",
    "linkage_id": "the linkage pseudonym is for the registry feed only (`dids linkage`)",
}


def refusal(name: str) -> str | None:
    """Why ``name`` cannot be extracted, or None when it is on the allow-list."""
    if name in EXTRACT_COLUMNS:
        return None
    if name in IDENTIFIERS:
        return f"{name} is an identifier: {IDENTIFIERS[name]}"
    if name.startswith("kafka_"):
        return f"{name} is a transport identifier and is never extracted"
    return f"{name} is not on the published allow-list of extract columns (`dids extract --list-columns`)"
