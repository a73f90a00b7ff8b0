"""Cleansing (DIDS-RULES §1.2, DIDS-SPEC §4) and the item catalogue."""

from __future__ import annotations

import dataclasses

import pytest

from dids.kernel.items import CSV_HEADER_BY_ITEM, CSV_HEADERS, ITEM_NAMES
from streams.cleanse import CleansedRecord, cleanse

NATIONAL_HEADER_ROW = (
    "NHS_NUMBER,NHS_NUMBER_STATUS_IND,PERSON_BIRTH_DATE,ETHNIC_CATEGORY,PERSON_GENDER_CODE,POSTCODE,"
    "PRACTICE_CODE,PATIENT_SOURCE_SETTING,REFERRER,REFERRING_ORG_CODE,DIAGNOSTIC_TEST_REQUEST_DATE,"
    "DIAG_TEST_REQUEST_REC_DATE,DIAGNOSTIC_TEST_DATE,IMAGING_CODE_NICIP,IMAGING_CODE_SNOMED,SERVICE_REPORT_DATE,"
    "SITE_CODE_IMAGING,RADIOLOGICAL_ACCESSION_NUM"
)


def test_items_follow_the_national_header_row() -> None:
    assert ",".join(CSV_HEADERS) == NATIONAL_HEADER_ROW
    assert tuple(h.lower() for h in CSV_HEADERS) == ITEM_NAMES
    assert len(ITEM_NAMES) == 18
    assert CSV_HEADER_BY_ITEM["diag_test_request_rec_date"] == "DIAG_TEST_REQUEST_REC_DATE"
    assert tuple(f.name for f in dataclasses.fields(CleansedRecord)) == ITEM_NAMES


def test_every_item_is_trimmed_and_blank_becomes_none() -> None:
    raw = {name: f"  {name.upper()}\t" for name in ITEM_NAMES}
    raw["nhs_number"] = " 943 476 5919 "
    cleansed = cleanse(raw).as_dict()
    for name in ITEM_NAMES:
        if name != "nhs_number":
            assert cleansed[name] == name.upper()
    assert cleanse({name: "   " for name in ITEM_NAMES}) == CleansedRecord()
    assert cleanse({name: "" for name in ITEM_NAMES}) == CleansedRecord()
    assert cleanse({name: None for name in ITEM_NAMES}) == CleansedRecord()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("9434765919", "9434765919"),
        ("943 476 5919", "9434765919"),
        ("943-476-5919", "9434765919"),
        (" 943\t476 - 5919\n", "9434765919"),
        ("943--476  5919", "9434765919"),
        (" - ", None),
        ("943 476 591", "943476591"),  # length is then judged by DIDS002
        ("ABC 123", "ABC123"),
    ],
)
def test_nhs_number_loses_every_whitespace_and_hyphen(raw: str, expected: str | None) -> None:
    assert cleanse({"nhs_number": raw}).nhs_number == expected


def test_nicip_is_upper_cased_by_default_and_nothing_else_changes_case() -> None:
    raw = {"imaging_code_nicip": " xches ", "postcode": "ls1 4ap", "ethnic_category": "a", "referrer": "g1234567"}
    cleansed = cleanse(raw)
    assert cleansed.imaging_code_nicip == "XCHES"
    assert (cleansed.postcode, cleansed.ethnic_category, cleansed.referrer) == ("ls1 4ap", "a", "g1234567")
    assert cleanse(raw, upper_case_nicip=False).imaging_code_nicip == "xches"


def test_inner_spaces_dates_and_postcodes_are_left_alone() -> None:
    cleansed = cleanse({"postcode": " LS1   4AP ", "diagnostic_test_date": " 2024-6-1 ", "referrer": "G 123"})
    assert (cleansed.postcode, cleansed.diagnostic_test_date, cleansed.referrer) == ("LS1   4AP", "2024-6-1", "G 123")


def test_missing_keys_are_none_and_extra_keys_are_ignored() -> None:
    cleansed = cleanse({"site_code_imaging": "RR801", "event_id": "abc"})
    assert cleansed.site_code_imaging == "RR801"
    assert cleansed.radiological_accession_num is None


def test_non_string_values_are_refused() -> None:
    with pytest.raises(TypeError, match="nhs_number"):
        cleanse({"nhs_number": 9434765919})  # type: ignore[dict-item]


def test_cleansed_record_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        cleanse({}).referrer = "99"  # type: ignore[misc]
