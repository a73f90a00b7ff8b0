"""Cleansing (DIDS-RULES §1.2, DIDS-SPEC §4) and the item catalogue.

``streams.columnar.cleansing`` cleanses a whole batch; ``one_record.cleanse`` asks it for one record.
"""

from __future__ import annotations

import pytest

from dids.kernel.items import CSV_HEADER_BY_ITEM, CSV_HEADERS, ITEM_NAMES
from streams.columnar.cleansing import cleansed, raw_frame
from tests.unit.streams.one_record import cleanse

NATIONAL_HEADER_ROW = (
    "NHS_NUMBER,NHS_NUMBER_STATUS_IND,PERSON_BIRTH_DATE,ETHNIC_CATEGORY,PERSON_GENDER_CODE,POSTCODE,"
    "PRACTICE_CODE,PATIENT_SOURCE_SETTING,REFERRER,REFERRING_ORG_CODE,DIAGNOSTIC_TEST_REQUEST_DATE,"
    "DIAG_TEST_REQUEST_REC_DATE,DIAGNOSTIC_TEST_DATE,IMAGING_CODE_NICIP,IMAGING_CODE_SNOMED,SERVICE_REPORT_DATE,"
    "SITE_CODE_IMAGING,RADIOLOGICAL_ACCESSION_NUM"
)
ALL_BLANK = dict.fromkeys(ITEM_NAMES)


def test_items_follow_the_national_header_row() -> None:
    assert ",".join(CSV_HEADERS) == NATIONAL_HEADER_ROW
    assert tuple(h.lower() for h in CSV_HEADERS) == ITEM_NAMES
    assert len(ITEM_NAMES) == 18
    assert CSV_HEADER_BY_ITEM["diag_test_request_rec_date"] == "DIAG_TEST_REQUEST_REC_DATE"
    assert tuple(cleanse({})) == ITEM_NAMES


def test_every_item_is_trimmed_and_blank_becomes_none() -> None:
    raw = {name: f"  {name.upper()}\t" for name in ITEM_NAMES}
    raw["nhs_number"] = " 943 476 5919 "
    result = cleanse(raw)
    for name in ITEM_NAMES:
        if name != "nhs_number":
            assert result[name] == name.upper()
    assert cleanse({name: "   " for name in ITEM_NAMES}) == ALL_BLANK
    assert cleanse({name: "" for name in ITEM_NAMES}) == ALL_BLANK
    assert cleanse({name: None for name in ITEM_NAMES}) == ALL_BLANK


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
    assert cleanse({"nhs_number": raw})["nhs_number"] == expected


def test_nicip_is_upper_cased_by_default_and_nothing_else_changes_case() -> None:
    raw = {"imaging_code_nicip": " xches ", "postcode": "ls1 4ap", "ethnic_category": "a", "referrer": "g1234567"}
    result = cleanse(raw)
    assert result["imaging_code_nicip"] == "XCHES"
    assert (result["postcode"], result["ethnic_category"], result["referrer"]) == ("ls1 4ap", "a", "g1234567")
    as_submitted = raw_frame([raw]).select(cleansed(upper_case_nicip=False)).row(0, named=True)
    assert as_submitted["imaging_code_nicip"] == "xches"


def test_inner_spaces_dates_and_postcodes_are_left_alone() -> None:
    result = cleanse({"postcode": " LS1   4AP ", "diagnostic_test_date": " 2024-6-1 ", "referrer": "G 123"})
    kept = (result["postcode"], result["diagnostic_test_date"], result["referrer"])
    assert kept == ("LS1   4AP", "2024-6-1", "G 123")


def test_missing_keys_are_none_and_extra_keys_are_ignored() -> None:
    result = cleanse({"site_code_imaging": "RR801", "event_id": "abc"})
    assert result["site_code_imaging"] == "RR801"
    assert result["radiological_accession_num"] is None
    assert "event_id" not in result


def test_non_string_values_are_refused() -> None:
    with pytest.raises(TypeError, match="nhs_number"):
        raw_frame([{"nhs_number": 9434765919}])  # type: ignore[dict-item]
