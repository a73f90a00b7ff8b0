"""v2.0 CSV extracts: recognised by header, mapped by name, timestamps feeding the v1 date items."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from producers.extract import FileRejectError, open_extract, read_csv
from producers.extract.v2 import map_header, normalise_header, parse_timestamp

V2_HEADER = (
    "SITE CODE (OF IMAGING),RADIOLOGICAL_ACCESSION_NUM,NHS_NUMBER,PERSON_BIRTH_DATE,PATIENT_SOURCE_SETTING,"
    "Coded Procedure (NICIP),CODED PROCEDURE (SNOMED CT),CODED PROCEDURE START TIMESTAMP,"
    "CODED PROCEDURE END TIMESTAMP,SERVICE REPORT ISSUE TIMESTAMP,SERVICE REQUEST PRIORITY TYPE,"
    "DIAGNOSTIC IMAGING ACTIVITY CATEGORY,DIAGNOSTIC IMAGING WAITING LIST CLOCK START DATE,LOCAL_FLAG"
)
V2_ROW = (
    "RR801,ACC1,9434765919,1980-01-01,04,xches,168537006,2026-05-01T00:30:00+01:00,"
    "2026-05-01T00:45:00+01:00,2026-05-02T09:00:00Z,3,1,2026-04-20,Y"
)


def test_v2_file_is_recognised_and_mapped_by_name(write_bytes):
    path = write_bytes("v2.csv", f"{V2_HEADER}\r\n{V2_ROW}\r\n".encode())
    extract = open_extract(path)
    assert extract.format == "csv-v2" and extract.has_header
    assert extract.layout.unknown_columns == ("LOCAL_FLAG",)
    [(number, raw)] = list(extract.records())
    assert number == 1
    assert raw["site_code_imaging"] == "RR801"
    assert raw["radiological_accession_num"] == "ACC1"
    assert raw["imaging_code_nicip"] == "xches"
    assert raw["imaging_code_snomed"] == "168537006"
    # the local clock date, not the UTC date (2026-04-30T23:30Z): it sets the reporting month
    assert raw["diagnostic_test_date"] == "2026-05-01"
    assert raw["service_report_date"] == "2026-05-02"
    assert raw["coded_procedure_start_timestamp"] == "2026-05-01T00:30:00+01:00"
    assert raw["coded_procedure_end_timestamp"] == "2026-05-01T00:45:00+01:00"
    assert raw["service_request_priority_type"] == "3"
    assert raw["diagnostic_imaging_waiting_list_clock_start_date"] == "2026-04-20"
    assert raw["local_flag"] == "Y"
    assert raw["postcode"] is None  # a v1 item without a column is missing


@pytest.mark.parametrize(
    ("value", "test_date"),
    [
        ("2026-05-01T14:32:00+02:00", "2026-05-01T14:32:00+02:00"),  # other offset: left for DIDS045
        ("2026-05-01 14:32:00", "2026-05-01 14:32:00"),
        ("2026-02-30T10:00:00Z", "2026-02-30T10:00:00Z"),
        ("", None),
    ],
)
def test_malformed_timestamps_reach_the_v1_format_rule_unchanged(write_bytes, value, test_date):
    row = V2_ROW.replace("2026-05-01T00:30:00+01:00", value)
    [(_, raw)] = list(read_csv(write_bytes("v2.csv", f"{V2_HEADER}\n{row}\n".encode())))
    assert raw["diagnostic_test_date"] == test_date


def test_parse_timestamp_gives_local_date_and_utc_instant():
    assert parse_timestamp("2026-05-01T00:30:00+01:00") == ("2026-05-01", datetime(2026, 4, 30, 23, 30, tzinfo=UTC))
    assert parse_timestamp(" 2026-01-05T08:00:00-00:00 ") == ("2026-01-05", datetime(2026, 1, 5, 8, tzinfo=UTC))
    for bad in ("2026-05-01T14:32:00+05:30", "2026-05-01T25:00:00Z", "2026-05-01", None):
        assert parse_timestamp(bad) is None


def test_header_names_normalise():
    assert normalise_header(" Coded Procedure (SNOMED CT) ") == "CODED_PROCEDURE_SNOMED_CT"
    assert normalise_header("site code (of imaging)") == "SITE_CODE_OF_IMAGING"


@pytest.mark.parametrize(
    ("header", "words"),
    [
        ("CODED_PROCEDURE_START_TIMESTAMP,SITE_CODE_IMAGING,SITE CODE (OF IMAGING)", "repeats"),
        ("CODED_PROCEDURE_START_TIMESTAMP,,SITE_CODE_IMAGING", "blank"),
        ("CODED_PROCEDURE_START_TIMESTAMP,DIAGNOSTIC_TEST_DATE", "both"),
    ],
)
def test_unmappable_v2_header_rejects_the_file(write_bytes, header, words):
    with pytest.raises(FileRejectError) as caught:
        list(read_csv(write_bytes("v2.csv", f"{header}\n".encode())))
    assert caught.value.code == "DIDS075" and caught.value.line == 1 and words in caught.value.message
    with pytest.raises(ValueError):
        map_header(header.split(","))


def test_v2_rows_must_match_the_header_width(write_bytes):
    with pytest.raises(FileRejectError) as caught:
        list(read_csv(write_bytes("v2.csv", f"{V2_HEADER}\n{V2_ROW}\n{V2_ROW},extra\n".encode())))
    assert caught.value.line == 3 and "14" in caught.value.message
