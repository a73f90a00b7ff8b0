"""DIDS-v1-0 XML: one record per ImagingActivity with copied patient values; structure rejects (DIDS076)."""

from __future__ import annotations

import pytest

from dids.kernel.items import ITEM_NAMES
from producers.extract import NAMESPACE, FileRejectError, read_xml

PATIENT = """\
    <PersonalAndDemographics>
      <NHSNumber extension="9434765919"/>
      <NHSNumberStatus code="01"/>
      <PersonBirthDate>1980-02-29</PersonBirthDate>
      <EthnicCategory code="A"/>
      <PersonGenderCode code="2"/>
      <Address><postalCode>LS1 4AP</postalCode></Address>
      <GPCodeRegistration extension="B86001"/>
    </PersonalAndDemographics>"""
REFERRALS = """\
    <Referrals>
      <PatientSourceSetting code="03"/>
      <ReferrerCode extension="G1234567"/>
      <ReferringOrgCode extension="B86001"/>
      <DiagnosticTestReqDate>2024-06-01</DiagnosticTestReqDate>
      <DiagnosticTestReqRecDate> 2024-06-02 </DiagnosticTestReqRecDate>
    </Referrals>"""
ACTIVITY_1 = """\
    <ImagingActivity>
      <ImagingCodeNICIP code="XCHES"/>
      <ImagingCodeSNOMEDCT code=""/>
      <DiagnosticTestDate>2024-06-10</DiagnosticTestDate>
      <ServiceReportIssueDate>2024-06-11</ServiceReportIssueDate>
      <ImagingSiteCode extension="RR801"/>
      <RadiologicalAccessionNumber extension="ACC0001"/>
    </ImagingActivity>"""
ACTIVITY_2 = """\
    <ImagingActivity>
      <ImagingCodeSNOMEDCT code="168537006"/>
      <DiagnosticTestDate>2024-06-10</DiagnosticTestDate>
      <ServiceReportIssueDate></ServiceReportIssueDate>
      <ImagingSiteCode extension="RR801"/>
      <RadiologicalAccessionNumber extension="ACC0002"/>
    </ImagingActivity>"""
SHARED = {
    "nhs_number": "9434765919",
    "nhs_number_status_ind": "01",
    "person_birth_date": "1980-02-29",
    "ethnic_category": "A",
    "person_gender_code": "2",
    "postcode": "LS1 4AP",
    "practice_code": "B86001",
    "patient_source_setting": "03",
    "referrer": "G1234567",
    "referring_org_code": "B86001",
    "diagnostic_test_request_date": "2024-06-01",
    "diag_test_request_rec_date": " 2024-06-02 ",
}


def document(*records: str, root: str = f'<DIDS xmlns="{NAMESPACE}">') -> bytes:
    body = "\n".join(f"  <DIDSRecord>\n{record}\n  </DIDSRecord>" for record in records)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{root}\n{body}\n</DIDS>\n'.encode()


def reject_of(path) -> FileRejectError:
    with pytest.raises(FileRejectError) as caught:
        list(read_xml(path))
    assert caught.value.code == "DIDS076"
    return caught.value


def test_two_activities_become_two_records_with_copied_patient_and_referral_values(write_bytes):
    path = write_bytes("e.xml", document(f"{PATIENT}\n{REFERRALS}\n{ACTIVITY_1}\n{ACTIVITY_2}"))
    rows = list(read_xml(path))
    assert rows == [
        (
            1,
            {
                **SHARED,
                "imaging_code_nicip": "XCHES",
                "imaging_code_snomed": None,  # empty attribute: missing
                "diagnostic_test_date": "2024-06-10",
                "service_report_date": "2024-06-11",
                "site_code_imaging": "RR801",
                "radiological_accession_num": "ACC0001",
            },
        ),
        (
            2,
            {
                **SHARED,
                "imaging_code_nicip": None,  # absent element: missing
                "imaging_code_snomed": "168537006",
                "diagnostic_test_date": "2024-06-10",
                "service_report_date": None,  # empty element: missing
                "site_code_imaging": "RR801",
                "radiological_accession_num": "ACC0002",
            },
        ),
    ]
    assert all(list(raw) == list(ITEM_NAMES) for _, raw in rows)


def test_blocks_in_any_order_and_records_do_not_share_values(write_bytes):
    second = ACTIVITY_2.replace("ACC0002", "ACC0003")
    path = write_bytes("e.xml", document(f"{ACTIVITY_1}\n{REFERRALS}\n{PATIENT}", second))
    rows = list(read_xml(path))
    assert [raw["radiological_accession_num"] for _, raw in rows] == ["ACC0001", "ACC0003"]
    assert rows[0][1]["nhs_number"] == "9434765919"
    assert rows[1][1]["nhs_number"] is None and rows[1][1]["patient_source_setting"] is None


def test_prefixed_namespace_and_escaped_text(write_bytes):
    text = document(ACTIVITY_1.replace('extension="ACC0001"', 'extension="A&amp;B&#9;1"'))
    text = text.replace(b'<DIDS xmlns="', b'<d:DIDS xmlns:d="').replace(b"</DIDS>", b"</d:DIDS>")
    text = text.replace(b"<DIDSRecord>", b"<d:DIDSRecord>").replace(b"</DIDSRecord>", b"</d:DIDSRecord>")
    [(_, raw)] = list(read_xml(write_bytes("p.xml", text)))  # unqualified children are accepted
    assert raw["radiological_accession_num"] == "A&B\t1"


@pytest.mark.parametrize(
    ("data", "line", "words"),
    [
        (document(ACTIVITY_1).replace(b"</ImagingActivity>", b"</ImagingActivit>"), 11, "malformed XML"),
        (document(ACTIVITY_1)[:-20], 12, "malformed XML"),  # truncated
        (b"", 1, "malformed XML"),
        (document(ACTIVITY_1, root='<DIDS xmlns="urn:other">'), 2, "namespace"),
        (document(ACTIVITY_1, root="<DIDS>"), 2, "namespace"),
        (document(ACTIVITY_1).replace(b"<DIDS ", b"<DIDX ").replace(b"</DIDS>", b"</DIDX>"), 2, "root"),
        (document(PATIENT), 13, "no ImagingActivity"),
        (document(f"{PATIENT}\n{PATIENT}\n{ACTIVITY_1}"), 13, "more than once"),
        (
            document(ACTIVITY_1.replace("<ImagingCodeNICIP", '<ImagingCodeNICIP code="X"/><ImagingCodeNICIP')),
            5,
            "more than once",
        ),
        (document(ACTIVITY_1.replace("<DiagnosticTestDate>", "<Modality/><DiagnosticTestDate>")), 7, "Modality"),
        (document(ACTIVITY_1.replace("<ImagingActivity>", "<ImagingActivity>stray")), 4, "unexpected text"),
        (document(ACTIVITY_1) + b"<DIDS/>", 14, "malformed XML"),
        (document(ACTIVITY_1.replace("ACC0001", "ACC\xe9").replace("RR801", "RR\x00")), 9, "malformed XML"),
    ],
)
def test_structure_errors_reject_the_file_with_the_line(write_bytes, data, line, words):
    error = reject_of(write_bytes("bad.xml", data))
    assert error.line == line, error.message
    assert words in error.message


def test_invalid_utf8_rejects(write_bytes):
    data = document(ACTIVITY_1).replace(b"ACC0001", b"ACC\xe90001")
    error = reject_of(write_bytes("bad.xml", data))
    assert error.line == 10 and "malformed XML" in error.message


def test_other_declared_encodings_are_decoded(write_bytes):
    data = document(ACTIVITY_1).replace(b"UTF-8", b"windows-1252").replace(b"ACC0001", b"ACC\xe90001")
    [(_, raw)] = list(read_xml(write_bytes("w.xml", data)))
    assert raw["radiological_accession_num"] == "ACC\xe90001"


def test_entity_expansion_and_external_entities_are_refused(write_bytes):
    laughs = b'<?xml version="1.0"?>\n<!DOCTYPE DIDS [\n<!ENTITY a "aaaaaaaaaa">\n<!ENTITY b "&a;&a;&a;&a;">\n]>\n'
    error = reject_of(write_bytes("bomb.xml", laughs + document(ACTIVITY_1).split(b"\n", 1)[1]))
    assert "DOCTYPE" in error.message and error.line == 2
    external = b'<?xml version="1.0"?>\n<!DOCTYPE DIDS SYSTEM "file:///etc/passwd">\n'
    assert "DOCTYPE" in reject_of(write_bytes("ext.xml", external + b"<DIDS/>")).message
    undefined = document(ACTIVITY_1.replace("ACC0001", "&xxe;"))
    assert "malformed XML" in reject_of(write_bytes("u.xml", undefined)).message


def test_a_huge_value_rejects_instead_of_growing(write_bytes):
    data = document(ACTIVITY_1.replace("2024-06-10", "9" * 10_000_000, 1))
    assert "longer than" in reject_of(write_bytes("big.xml", data)).message


def test_records_stream_out_before_the_end_of_the_file(write_bytes):
    activities = [ACTIVITY_1.replace("ACC0001", f"ACC{n:06d}") for n in range(5000)]
    rows = read_xml(write_bytes("many.xml", document(*activities)[:-8]))  # the closing tag is missing
    assert next(rows)[0] == 1
    with pytest.raises(FileRejectError):
        list(rows)


def test_a_huge_attribute_value_rejects_like_a_huge_text(write_bytes):
    data = document(ACTIVITY_1.replace('extension="ACC0001"', 'extension="' + "A" * 100_000 + '"'))
    assert b"A" * 100_000 in data
    error = reject_of(write_bytes("big-attribute.xml", data))
    assert "attribute extension of RadiologicalAccessionNumber is longer than" in error.message
