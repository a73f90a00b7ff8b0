"""The 18 submitted DIDS v1.0 data items, in national CSV column order (DIDS-SPEC §2.1).

``ITEM_NAMES`` are the lower-cased national CSV headers and are the keys of every raw and cleansed record.
``CSV_HEADERS`` holds the national header for each item, in the same order, so that
``dict(zip(ITEM_NAMES, row))`` reads a CSV row by position, as the national loader does.
"""

from __future__ import annotations

from types import MappingProxyType

CSV_HEADERS: tuple[str, ...] = (
    "NHS_NUMBER",
    "NHS_NUMBER_STATUS_IND",
    "PERSON_BIRTH_DATE",
    "ETHNIC_CATEGORY",
    "PERSON_GENDER_CODE",
    "POSTCODE",
    "PRACTICE_CODE",
    "PATIENT_SOURCE_SETTING",
    "REFERRER",
    "REFERRING_ORG_CODE",
    "DIAGNOSTIC_TEST_REQUEST_DATE",
    "DIAG_TEST_REQUEST_REC_DATE",
    "DIAGNOSTIC_TEST_DATE",
    "IMAGING_CODE_NICIP",
    "IMAGING_CODE_SNOMED",
    "SERVICE_REPORT_DATE",
    "SITE_CODE_IMAGING",
    "RADIOLOGICAL_ACCESSION_NUM",
)

ITEM_NAMES: tuple[str, ...] = tuple(header.lower() for header in CSV_HEADERS)

# item name -> national CSV header, read-only
CSV_HEADER_BY_ITEM = MappingProxyType(dict(zip(ITEM_NAMES, CSV_HEADERS, strict=True)))


# DIDS v2.0 items carried beside the 18 (DIDS-SPEC §3.1); all optional
V2_ITEM_NAMES: tuple[str, ...] = (
    "coded_procedure_start_timestamp",
    "coded_procedure_end_timestamp",
    "service_report_issue_timestamp",
    "service_request_priority_type",
    "diagnostic_imaging_activity_category",
    "diagnostic_imaging_waiting_list_clock_start_date",
)
