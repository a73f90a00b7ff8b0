"""Golden tests of the HL7 -> DIDS mapping (MAPPING.md), one message kind at a time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from producers.hl7.decode import decode_message
from producers.hl7.errors import MappingError
from producers.hl7.mapping import iso_date, map_message
from tests.unit.producers.hl7.messages import PD1, PID, PV1, RECEIVED, message, msh, segment

ORC_NW = segment(
    "ORC",
    {1: "NW", 2: "PL123", 3: "ACC123", 9: "20240614101500", 12: "G1234567^JONES^A", 21: "Park^^^^^^^^^B86016"},
)
OBR = segment(
    "OBR",
    {
        1: "1",
        2: "PL123",
        3: "ACC123",
        4: "XCHES^XR Chest^NICIP^399208008^Plain chest X-ray^SCT",
        7: "20240615091500",
        14: "20240615080000",
        16: "G1234567",
        18: "ACC123",
    },
)

EXPECTED_PATIENT = {
    "nhs_number": "9434765919",
    "nhs_number_status_ind": "01",
    "person_birth_date": "1980-01-31",
    "ethnic_category": "C",
    "person_gender_code": "2",
    "postcode": "LS1 3EX",  # the home (H) address, not the first
    "practice_code": "B86016",
    "patient_source_setting": "03",  # PV1-2 O, no PV1-18
}


def mapped(*segments: str) -> list[dict[str, object]]:
    return map_message(decode_message(message(*segments)).message, RECEIVED)


def one(*segments: str) -> dict[str, object]:
    events = mapped(*segments)
    assert len(events) == 1
    return events[0]


def test_orm_new_order_is_requested():
    event = one(msh(), PID, PD1, PV1, ORC_NW, OBR)
    assert event["event_type"] == "requested"
    assert {k: event[k] for k in EXPECTED_PATIENT} == EXPECTED_PATIENT
    assert event["referrer"] == "G1234567"  # ORC-12
    assert event["referring_org_code"] == "B86016"  # ORC-21 XON.10
    assert event["diagnostic_test_request_date"] == "2024-06-14"  # ORC-9 on NW, OBR-6 empty
    assert event["diag_test_request_rec_date"] == "2024-06-15"  # OBR-14
    assert event["diagnostic_test_date"] is None  # OBR-7 is not a test date before the examination
    assert (event["imaging_code_nicip"], event["imaging_code_snomed"]) == ("XCHES", "399208008")
    assert event["service_report_date"] is None
    assert event["site_code_imaging"] == "RR813"  # PV1-39 before MSH-4
    assert event["radiological_accession_num"] == "ACC123"
    # 09:30 in June, no offset: British Summer Time
    assert event["event_time"] == datetime(2024, 6, 15, 8, 30, tzinfo=UTC)
    assert event["received_time"] == RECEIVED
    assert (event["source"], event["submitter_org"]) == ("hl7", "RR8")


@pytest.mark.parametrize(
    ("msh7", "utc"),
    [
        ("20240115093000", datetime(2024, 1, 15, 9, 30, tzinfo=UTC)),  # GMT
        ("202406150930", datetime(2024, 6, 15, 8, 30, tzinfo=UTC)),  # BST
        ("20240615093000.250+0000", datetime(2024, 6, 15, 9, 30, 0, 250000, tzinfo=UTC)),
        ("20240615093000-0500", datetime(2024, 6, 15, 14, 30, tzinfo=UTC)),
    ],
)
def test_event_time_from_msh7(msh7, utc):
    assert one(msh(when=msh7), PID, ORC_NW, OBR)["event_time"] == utc


def test_event_id_is_deterministic_per_control_id_and_facility():
    first = one(msh(), PID, ORC_NW, OBR)["event_id"]
    assert one(msh(), PID, ORC_NW, OBR)["event_id"] == first
    assert one(msh(control="MSG0002"), PID, ORC_NW, OBR)["event_id"] != first
    assert one(msh(m4="RGT"), PID, ORC_NW, OBR)["event_id"] != first


@pytest.mark.parametrize("control", ["CA", "OC", "DC"])
def test_orm_cancel_controls(control):
    orc = segment("ORC", {1: control, 3: "ACC123", 5: "CA"})
    event = one(msh(), PID, PV1, orc, OBR)
    assert event["event_type"] == "cancelled"
    assert event["diagnostic_test_date"] is None
    assert event["diagnostic_test_request_date"] is None  # ORC-9 only counts on NW


def test_orm_change_order_is_corrected_with_report_date():
    orc = segment("ORC", {1: "XO", 3: "ACC123", 5: "CM", 12: "C1234567"})
    obr = OBR.replace("|G1234567||ACC123", "|G1234567||ACC123||||20240616140000")
    event = one(msh(), PID, PV1, orc, obr)
    assert event["event_type"] == "corrected"
    assert event["diagnostic_test_date"] == "2024-06-15"
    assert event["service_report_date"] == "2024-06-16"  # OBR-22
    assert event["referrer"] == "C1234567"  # ORC-12 before OBR-16


@pytest.mark.parametrize(
    ("control", "status", "result", "expected"),
    [
        ("SC", "SC", "", "scheduled"),
        ("SC", "CM", "", "performed"),
        ("SC", "", "I", "performed"),
        ("SC", "", "S", "scheduled"),
        ("SC", "IP", "", None),  # IP alone says nothing: AE
        ("NW", "SC", "", "scheduled"),
        ("NW", "", "O", "requested"),
        ("SC", "DC", "", "cancelled"),
        ("NW", "", "X", "cancelled"),
        ("XX", "", "", "corrected"),
    ],
)
def test_orm_status_table(control, status, result, expected):
    orc = segment("ORC", {1: control, 3: "ACC1", 5: status})
    obr = segment("OBR", {1: "1", 4: "XCHES^^NICIP", 18: "ACC1", 25: result})
    if expected is None:
        with pytest.raises(MappingError, match="ORC-1 SC"):
            one(msh(), orc, obr)
    else:
        assert one(msh(), orc, obr)["event_type"] == expected


def test_omi_accession_from_ipc_and_v25_fields():
    pd1 = segment("PD1", {3: "Surgery^^^^^^^^^Y00001"})
    orc = segment("ORC", {1: "NW", 2: "P9", 3: "F9", 12: "C7777777", 17: "RR8^Leeds"})
    obr = segment("OBR", {1: "1", 3: "F9", 4: "UABDO^US Abdomen^L", 6: "20240610", 18: "ACC-FROM-OBR"})
    ipc = segment("IPC", {1: "ACC-FROM-IPC^RR8", 2: "RP1", 3: "1.2.826.0.1", 4: "SPS1", 5: "US"})
    event = one(msh("OMI^O23^OMI_O23", m12="2.5"), PID, pd1, PV1, orc, segment("TQ1", {1: "1"}), obr, ipc)
    assert event["event_type"] == "requested"
    assert event["radiological_accession_num"] == "ACC-FROM-IPC"
    assert event["practice_code"] == "Y00001"  # XON.10
    assert event["referring_org_code"] == "RR8"  # ORC-21 empty: ORC-17
    assert event["diagnostic_test_request_date"] == "2024-06-10"  # OBR-6 before ORC-9
    assert (event["imaging_code_nicip"], event["imaging_code_snomed"]) == ("UABDO", None)  # local system L


def test_oru_final_report():
    orc = segment("ORC", {1: "RE", 3: "ACC123", 9: "20240617110000"})
    obr = segment("OBR", {1: "1", 4: "^^^399208008^^SCT", 7: "20240615", 18: "ACC123", 22: "20240616", 25: "F"})
    obx = segment("OBX", {1: "1", 2: "TX", 3: "REP^Report", 5: "No abnormality", 11: "F"})
    event = one(msh("ORU^R01"), PID, PV1, orc, obr, obx)
    assert event["event_type"] == "reported"
    assert event["service_report_date"] == "2024-06-16"  # OBR-22 before ORC-9
    assert event["diagnostic_test_date"] == "2024-06-15"
    assert (event["imaging_code_nicip"], event["imaging_code_snomed"]) == (None, "399208008")


def test_oru_without_orc_and_obr22_has_no_report_date_and_uses_msh4_site():
    obr = segment("OBR", {1: "1", 3: "ACC9", 4: "XCHES^^NICIP", 25: "F"})
    event = one(msh("ORU^R01"), segment("PID", {3: "9434765919^^^^NH"}), obr)
    assert event["nhs_number"] == "9434765919"  # identifier type NH alone is enough
    assert event["service_report_date"] is None
    assert event["site_code_imaging"] == "RR8"
    assert event["radiological_accession_num"] == "ACC9"  # OBR-3 when OBR-18 is empty


def test_oru_report_date_falls_back_to_orc9():
    orc = segment("ORC", {1: "RE", 9: "202406171100+0100"})
    event = one(msh("ORU^R01"), orc, segment("OBR", {1: "1", 3: "A1", 25: "C"}))
    assert (event["event_type"], event["service_report_date"]) == ("corrected", "2024-06-17")


def test_oru_preliminary_report_is_performed_without_report_date():
    obr = segment("OBR", {1: "1", 3: "A1", 7: "20240615", 22: "20240615", 25: "P"})
    event = one(msh("ORU^R01"), obr)
    assert (event["event_type"], event["service_report_date"]) == ("performed", None)


def test_one_event_per_obr():
    orc2 = segment("ORC", {1: "NW", 3: "ACC124"})
    obr2 = segment("OBR", {1: "2", 4: "CHEAD^CT Head^NICIP", 18: "ACC124"})
    events = mapped(msh(), PID, PV1, ORC_NW, OBR, orc2, obr2)
    assert [e["radiological_accession_num"] for e in events] == ["ACC123", "ACC124"]
    assert events[1]["referrer"] == "G7654321"  # the second ORC has no ORC-12, OBR-16 is empty: PV1-8
    assert len({e["event_id"] for e in events}) == 2


def test_referrer_falls_back_to_pv1_8():
    orc = segment("ORC", {1: "NW", 3: "A1"})
    event = one(msh(), PID, PV1, orc, segment("OBR", {1: "1", 18: "A1"}))
    assert event["referrer"] == "G7654321"


@pytest.mark.parametrize(
    ("pid8", "expected"),
    [("M", "1"), ("F", "2"), ("U", "0"), ("O", "9"), ("A", "9"), ("N", "0"), ("X", "X"), ("", None)],
)
def test_gender(pid8, expected):
    pid = segment("PID", {3: "9434765919^^^NHS^NH", 8: pid8})
    assert one(msh(), pid, ORC_NW, OBR)["person_gender_code"] == expected


@pytest.mark.parametrize(
    ("pv1", "expected"),
    [
        ({2: "I"}, "01"),
        ({2: "D"}, "02"),
        ({2: "O"}, "03"),
        ({2: "E"}, "05"),
        ({2: "P"}, None),
        ({2: "E", 18: "04"}, "04"),  # PV1-18 wins, verbatim
        ({2: "O", 18: "8"}, "8"),
    ],
)
def test_patient_source_setting(pv1, expected):
    assert one(msh(), PID, segment("PV1", pv1), ORC_NW, OBR)["patient_source_setting"] == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("19800131", "1980-01-31"),
        ("198001311230", "1980-01-31"),
        ("20240615093000.1234+0100", "2024-06-15"),
        ("19800231", "1980-02-31"),  # not a calendar date: validation flags it
        ("1980", "1980"),
        ("31/01/1980", "31/01/1980"),
        ("1980-01-31", "1980-01-31"),
        ("", None),
    ],
)
def test_iso_date(raw, expected):
    assert iso_date(raw) == expected


def test_hl7_null_is_missing():
    pid = segment("PID", {3: "9434765919^^^NHS^NH", 7: '""', 8: '""'})
    event = one(msh(), pid, ORC_NW, OBR)
    assert (event["person_birth_date"], event["person_gender_code"]) == (None, None)


def test_escaped_values_are_unescaped():
    orc = segment("ORC", {1: "NW", 3: "A1"})
    obr = segment("OBR", {1: "1", 18: r"ACC\F\7\S\8"})
    assert one(msh(), orc, obr)["radiological_accession_num"] == "ACC|7^8"


@pytest.mark.parametrize(
    ("segments", "code", "text"),
    [
        ((msh("ADT^A01"), PID), 200, "message type ADT^A01 is not supported"),
        ((msh("ORU^R30"), PID, OBR), 200, "ORU^R30"),
        ((msh(), PID, PV1), 101, "no OBR segment"),
        ((msh(), PID, ORC_NW), 101, "no OBR segment"),
        ((msh(), ORC_NW, PID, OBR), 100, "PID (segment 3) after ORC/OBR"),
        ((msh(), PID, OBR, ORC_NW), 100, "OBR (segment 3) before any ORC"),
        ((msh(), PID, PID, ORC_NW, OBR), 100, "more than one PID"),
        ((msh(), PID, ORC_NW.replace("NW", "ZZ", 1), OBR), 103, "ORC-1 order control 'ZZ'"),
        ((msh(), PID, ORC_NW.replace("NW", "", 1), OBR), 101, "ORC-1 order control is empty"),
        ((msh(when="2024-06-15"), PID, ORC_NW, OBR), 102, "MSH-7"),
        ((msh(when="20240615120000+9999"), PID, ORC_NW, OBR), 102, "MSH-7"),  # an offset past any clock's
        ((msh(when="20240615120000-0199"), PID, ORC_NW, OBR), 102, "MSH-7"),
        ((msh(when=""), PID, ORC_NW, OBR), 101, "MSH-7"),
        ((msh(control=""), PID, ORC_NW, OBR), 101, "MSH-10"),
        ((msh("ORU^R01"), segment("OBR", {1: "1", 25: "Q"})), 103, "OBR-25 result status 'Q'"),
        ((msh(), ORC_NW, OBR, msh(control="X2")), 100, "second MSH"),
    ],
)
def test_unmappable_messages(segments, code, text):
    with pytest.raises(MappingError) as caught:
        mapped(*segments)
    assert caught.value.code == code
    assert text in caught.value.reason
    assert "9434765919" not in caught.value.reason and "SMITH" not in caught.value.reason
