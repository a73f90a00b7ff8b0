"""writer -> reader round trips on generated records, and awkward values in both formats."""

from __future__ import annotations

import io

import pytest

from dids.kernel.items import CSV_HEADERS, ITEM_NAMES
from producers.extract import FileRejectError, open_extract, read_csv, read_xml, write_csv, write_xml
from producers.extract.writer import to_csv_text

AWKWARD = {
    **dict.fromkeys(ITEM_NAMES),
    "nhs_number": " 943-476 5919 ",
    "postcode": 'LS1, "4AP"',
    "referrer": "G12<34>&5",
    "site_code_imaging": "RR\r\n801",
    "radiological_accession_num": "\tACC\u00e9\u20ac1",
    "person_birth_date": "   ",
}


def read_back(path) -> list[dict[str, str | None]]:
    return [raw for _, raw in open_extract(path).records()]


@pytest.mark.parametrize(
    "options",
    [{}, {"header": False}, {"bom": True}, {"line_end": "\n"}, {"header": False, "bom": True, "line_end": "\n"}],
)
def test_csv_round_trip_of_1000_generated_records(tmp_path, generated, options):
    path = tmp_path / "extract.csv"
    assert write_csv(generated, path, **options) == 1000
    assert read_back(path) == generated
    assert open_extract(path).has_header == options.get("header", True)


@pytest.mark.parametrize("group", [True, False])
def test_xml_round_trip_of_1000_generated_records(tmp_path, generated, group):
    path = tmp_path / "extract.xml"
    assert write_xml(generated, path, group=group) == 1000
    assert read_back(path) == generated
    text = path.read_text()
    assert text.count("<ImagingActivity>") == 1000
    if not group:
        assert text.count("<DIDSRecord>") == 1000


def test_grouping_shares_one_didsrecord_for_the_same_patient_and_referral(tmp_path, generated):
    first = generated[0]
    second = {**first, "radiological_accession_num": "OTHER1", "imaging_code_nicip": "CHEAD"}
    path = tmp_path / "g.xml"
    write_xml([first, second], path)
    assert path.read_text().count("<DIDSRecord>") == 1
    assert read_back(path) == [first, second]


def test_awkward_values_survive_both_formats(tmp_path):
    csv_path, xml_path = tmp_path / "a.csv", tmp_path / "a.xml"
    write_csv([AWKWARD, AWKWARD], csv_path)
    write_xml([AWKWARD], xml_path)
    assert read_back(csv_path) == [AWKWARD, AWKWARD]
    assert read_back(xml_path) == [AWKWARD]


def test_writers_accept_open_streams():
    text = to_csv_text([AWKWARD], header=True)
    assert text.startswith(",".join(CSV_HEADERS) + "\r\n")
    buffer = io.StringIO()
    write_xml([AWKWARD], buffer)
    assert buffer.getvalue().startswith('<?xml version="1.0" encoding="UTF-8"?>')


def test_xml_writer_refuses_values_xml_cannot_carry(tmp_path):
    with pytest.raises(ValueError, match="control character"):
        write_xml([{**AWKWARD, "postcode": "LS1\x004AP"}], tmp_path / "n.xml")


def test_empty_inputs(tmp_path):
    write_csv([], tmp_path / "e.csv")
    write_xml([], tmp_path / "e.xml")
    for reader, path in ((read_csv, tmp_path / "e.csv"), (read_xml, tmp_path / "e.xml")):
        with pytest.raises(FileRejectError, match="no records"):
            list(reader(path))
