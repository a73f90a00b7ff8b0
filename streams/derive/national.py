"""The national derived record (DIDS-SPEC §7.11): every column but META, by its exact national name.

``derive_all`` never raises on bad values: a blank, malformed or unknown value gives None for the fields
that depend on it, so rejected records are derived as far as their values allow. Fields that need a
reference table that was not supplied are None. Dates are ``CCYY-MM-DD`` strings, codes strings,
GENDER_CODE, NHS_NUMBER_SUPPLIED, MONTH/YEAR_OF_TEST and the intervals ints.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from streams.cleanse import CleansedRecord
from streams.formats import parse_calendar_date

from . import codes, organisations, referrer
from .ages import age_at_event, derive_age_bands
from .classification import classify
from .context import DeriveContext
from .geography import derive_location
from .intervals import derive_intervals, national_date
from .restricted import is_restricted

NATIONAL_COLUMNS: tuple[str, ...] = (
    "RADIOLOGICAL_ACCESSION_NUMBER", "NHS_NUMBER", "NHS_NUMBER_STATUS", "NHS_NUMBER_STATUS_DESCRIPTION",
    "NHS_NUMBER_SUPPLIED", "DATE_OF_BIRTH", "AGE_BAND_5_YEARS", "AGE_BAND_10_YEARS",
    "AGE_BAND_CHILDREN_INC_0_YEARS", "AGE_BAND_INC_50_TO_74", "AGE_BAND_INC_WORKING_AGE_16_TO_60",
    "AGE_BAND_INC_WORKING_AGE_16_TO_64", "ETHNIC_CATEGORY_CODE", "ETHNIC_CATEGORY_DESCRIPTION",
    "ETHNIC_CATEGORY_GROUP", "GENDER_CODE", "GENDER_DESCRIPTION", "POSTCODE", "LOCATION_LSOA", "LOCATION_MSOA",
    "GP_CODE", "GP_DESCRIPTION", "CCG_CODE", "CCG_NAME", "PATIENT_SOURCE_SETTING",
    "PATIENT_SOURCE_SETTING_DESCRIPTION", "REFERRER_CODE", "DERIVED_REFERRER_TYPE", "REFERRER_ORGANISATION_CODE",
    "REFERRER_ORGANISATION_DESCRIPTION", "DIAGNOSTIC_TEST_REQUEST_DATE", "DIAGNOSTIC_TEST_REQUEST_RECEIVED_DATE",
    "DIAGNOSTIC_TEST_DATE", "MONTH_OF_TEST", "YEAR_OF_TEST", "SERVICE_REPORT_ISSUE_DATE",
    "TEST_REQUEST_TO_TEST_REQUEST_RECEIVED", "TEST_REQUEST_TO_TEST", "TEST_REQUEST_TO_SERVICE_REPORT_ISSUED",
    "TEST_REQUEST_RECEIVED_TO_TEST", "TEST_REQUEST_RECEIVED_TO_SERVICE_REPORT_ISSUED", "TEST_TO_SERVICE_REPORT_ISSUED",
    "IMAGING_CODE_NICIP", "IMAGING_CODE_NICIP_DESCRIPTION", "IMAGING_CODE_SNOMED_CT",
    "IMAGING_CODE_SNOMED_CT_DESCRIPTION", "MORPHOLOGY_ID", "MORPHOLOGY", "MODALITY_ID", "MODALITY",
    "SUB_MODALITY_ID", "SUB_MODALITY", "REGION_ID", "REGION", "SUB_REGION_ID", "SUB_REGION", "SYSTEM_ID", "SYSTEM",
    "SUB_SYSTEM_ID", "SUB_SYSTEM", "SUB_SYSTEM_COMPONENT_ID", "SUB_SYSTEM_COMPONENT", "FETAL_ID", "FETAL",
    "EARLY_CANCER_DIAGNOSIS", "SUB_EARLY_CANCER_DIAGNOSIS", "PROVIDER_SITE_CODE", "PROVIDER_SITE_CODE_DESCRIPTION",
    "PROVIDER_CODE", "PROVIDER_NAME", "COMMISSIONING_ORGANISATION_CODE", "COMMISSIONING_ORGANISATION_NAME",
    "SUBMITTER_ORGANISATION", "PROVIDER_SHA_CODE", "PROVIDER_SHA_NAME", "DERIVED_IMAGING_CODE_SNOMED_CT",
    "DERIVED_IMAGING_CODE_SNOMED_CT_DESCRIPTION", "DERIVED_REFERRER_CODE", "SUBMITTER_ORGANISATION_NAME",
    "MIGRATION_DATE", "Person_ID", "MPSConfidence", "SUBMISSION_DATA_ID",
)  # fmt: skip

# legacy columns (PCT of the GP, SHA, migration) and those filled later (MPS, submission id): always None here
NULL_COLUMNS: tuple[str, ...] = (
    "COMMISSIONING_ORGANISATION_CODE", "COMMISSIONING_ORGANISATION_NAME", "PROVIDER_SHA_CODE", "PROVIDER_SHA_NAME",
    "MIGRATION_DATE", "Person_ID", "MPSConfidence", "SUBMISSION_DATA_ID",
)  # fmt: skip


@dataclass(frozen=True)
class Derivation:
    """The national columns plus what the stream needs beside them.

    ``age_at_event`` is the internal AGE_AT_EVENT (§7.1); ``restricted`` says the record carries a
    restricted procedure code (§7.8), for the privacy stage.
    """

    national: dict[str, Any]
    age_at_event: int | None
    restricted: bool


def derive_all(record: CleansedRecord, context: DeriveContext) -> Derivation:
    """Every derived field of one cleansed record (already local-code mapped, see ``map_local_code``)."""
    tables = context.tables
    on = parse_calendar_date(record.diagnostic_test_date)
    age = age_at_event(record.person_birth_date, record.diagnostic_test_date)
    imaging = classify(
        record.imaging_code_nicip, record.imaging_code_snomed, tables.nicip, tables.snomed, on, context.grace
    )
    columns: dict[str, Any] = {
        **_patient(record, age),
        **_organisations(record, context, on),
        **_referral(record),
        **_dates(record),
        "IMAGING_CODE_NICIP": record.imaging_code_nicip,
        "IMAGING_CODE_SNOMED_CT": record.imaging_code_snomed,
        **imaging.columns(),
        **dict.fromkeys(NULL_COLUMNS),
    }
    columns["LOCATION_LSOA"], columns["LOCATION_MSOA"] = derive_location(record.postcode, tables.geography, on)
    restricted = is_restricted(
        record.imaging_code_nicip, record.imaging_code_snomed, imaging.derived_snomed, tables.restricted, on
    )
    return Derivation({name: columns[name] for name in NATIONAL_COLUMNS}, age, restricted)


def derive(record: CleansedRecord, context: DeriveContext) -> dict[str, Any]:
    """The national derived columns of one record, in national order, keyed by their exact names."""
    return derive_all(record, context).national


def _patient(record: CleansedRecord, age: int | None) -> dict[str, Any]:
    return {
        "RADIOLOGICAL_ACCESSION_NUMBER": record.radiological_accession_num,
        "NHS_NUMBER": record.nhs_number,
        "NHS_NUMBER_STATUS": record.nhs_number_status_ind,
        "NHS_NUMBER_STATUS_DESCRIPTION": codes.nhs_number_status_description(record.nhs_number_status_ind),
        "NHS_NUMBER_SUPPLIED": codes.nhs_number_supplied(record.nhs_number),
        "DATE_OF_BIRTH": national_date(record.person_birth_date),
        **derive_age_bands(age),
        "ETHNIC_CATEGORY_CODE": record.ethnic_category,
        "ETHNIC_CATEGORY_DESCRIPTION": codes.ethnic_category_description(record.ethnic_category),
        "ETHNIC_CATEGORY_GROUP": codes.ethnic_category_group(record.ethnic_category),
        "GENDER_CODE": codes.gender_code(record.person_gender_code),
        "GENDER_DESCRIPTION": codes.gender_description(record.person_gender_code),
        "POSTCODE": record.postcode,
    }


def _organisations(record: CleansedRecord, context: DeriveContext, on) -> dict[str, Any]:
    ods = context.tables.ods
    site, practice = record.site_code_imaging, record.practice_code
    provider = organisations.provider_code(site, ods, on, context.nhs_roles)
    ccg_code, ccg_name = organisations.commissioner(practice, ods, on)
    return {
        "GP_CODE": practice,
        "GP_DESCRIPTION": organisations.gp_description(practice, ods),
        "CCG_CODE": ccg_code,
        "CCG_NAME": ccg_name,
        "REFERRER_ORGANISATION_CODE": record.referring_org_code,
        "REFERRER_ORGANISATION_DESCRIPTION": organisations.ods_name(record.referring_org_code, ods),
        "PROVIDER_SITE_CODE": site,
        "PROVIDER_SITE_CODE_DESCRIPTION": organisations.site_description(site, ods),
        "PROVIDER_CODE": provider,
        "PROVIDER_NAME": organisations.ods_name(provider, ods),
        "SUBMITTER_ORGANISATION": context.submitter_org,
        "SUBMITTER_ORGANISATION_NAME": organisations.ods_name(context.submitter_org, ods),
    }


def _referral(record: CleansedRecord) -> dict[str, Any]:
    return {
        "PATIENT_SOURCE_SETTING": record.patient_source_setting,
        "PATIENT_SOURCE_SETTING_DESCRIPTION": codes.patient_source_setting_description(record.patient_source_setting),
        "REFERRER_CODE": referrer.referrer_code(record.referrer),
        "DERIVED_REFERRER_TYPE": referrer.derived_referrer_type(record.referrer),
        "DERIVED_REFERRER_CODE": referrer.derived_referrer_code(record.referrer),
    }


def _dates(record: CleansedRecord) -> dict[str, Any]:
    month, year = codes.month_and_year_of_test(record.diagnostic_test_date)
    return {
        "DIAGNOSTIC_TEST_REQUEST_DATE": national_date(record.diagnostic_test_request_date),
        "DIAGNOSTIC_TEST_REQUEST_RECEIVED_DATE": national_date(record.diag_test_request_rec_date),
        "DIAGNOSTIC_TEST_DATE": national_date(record.diagnostic_test_date),
        "MONTH_OF_TEST": month,
        "YEAR_OF_TEST": year,
        "SERVICE_REPORT_ISSUE_DATE": national_date(record.service_report_date),
        **derive_intervals(record),
    }
