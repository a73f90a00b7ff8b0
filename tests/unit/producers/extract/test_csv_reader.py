"""National CSV reading: golden mappings, header handling, encodings and file-level rejects (DIDS075)."""

from __future__ import annotations

import codecs

import pytest

from dids.kernel.items import CSV_HEADERS, ITEM_NAMES
from producers.extract import FileRejectError, read_csv

HEADER = ",".join(CSV_HEADERS)
ROW1 = (
    "943 476 5919,01,1980-02-29,A,2,LS1 4AP,B86001,03,G1234567,B86001,"
    "2024-06-01,2024-06-02,2024-06-10,XCHES,,2024-06-11,RR801,ACC0001"
)
ROW2 = ",07,,99,9,ZZ99 3VZ,V81999,04,,X99999,,,2024-06-12,,168537006,,RR801,ACC0002"
GOLDEN1 = {
    "nhs_number": "943 476 5919",
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
    "diag_test_request_rec_date": "2024-06-02",
    "diagnostic_test_date": "2024-06-10",
    "imaging_code_nicip": "XCHES",
    "imaging_code_snomed": None,
    "service_report_date": "2024-06-11",
    "site_code_imaging": "RR801",
    "radiological_accession_num": "ACC0001",
}
GOLDEN2 = {
    **dict.fromkeys(ITEM_NAMES),
    "nhs_number_status_ind": "07",
    "ethnic_category": "99",
    "person_gender_code": "9",
    "postcode": "ZZ99 3VZ",
    "practice_code": "V81999",
    "patient_source_setting": "04",
    "referring_org_code": "X99999",
    "diagnostic_test_date": "2024-06-12",
    "imaging_code_snomed": "168537006",
    "site_code_imaging": "RR801",
    "radiological_accession_num": "ACC0002",
}


def read(path, **options):
    return list(read_csv(path, **options))


def reject_of(path, **options) -> FileRejectError:
    with pytest.raises(FileRejectError) as caught:
        read(path, **options)
    return caught.value


@pytest.mark.parametrize(
    "text",
    [
        f"{ROW1}\n{ROW2}\n",  # no header, LF
        f"{HEADER}\n{ROW1}\n{ROW2}\n",  # header
        f"{HEADER}\r\n{ROW1}\r\n{ROW2}\r\n",  # header, CRLF
        f"{ROW1}\r\n{ROW2}",  # CRLF, no final line end
        f" {HEADER.lower()} \n{ROW1}\n{ROW2}\n".replace(",", " , ", 1),  # header compared trimmed, any case
    ],
)
def test_golden_mapping_with_and_without_header(write_bytes, text):
    path = write_bytes("extract.csv", text.encode())
    assert read(path) == [(1, GOLDEN1), (2, GOLDEN2)]


def test_utf8_bom_is_skipped_before_the_header_and_before_data(write_bytes):
    for text in (f"{HEADER}\r\n{ROW1}\r\n", f"{ROW1}\r\n"):
        path = write_bytes("bom.csv", codecs.BOM_UTF8 + text.encode())
        assert read(path) == [(1, GOLDEN1)]


def test_quoted_fields_keep_commas_quotes_newlines_and_spaces(write_bytes):
    fields = ROW2.split(",")
    fields[5] = '"ZZ99, 3VZ"'  # comma inside quotes
    fields[8] = '"G""123"""'  # doubled quotes
    fields[16] = '"RR\n801"'  # line end inside quotes: one record over two physical lines
    fields[17] = '"  ACC0002 "'  # spaces kept: cleansing trims, not the reader
    path = write_bytes("quoted.csv", (",".join(fields) + "\r\n" + ROW1 + "\r\n").encode())
    rows = read(path)
    assert [number for number, _ in rows] == [1, 2]
    raw = rows[0][1]
    assert raw["postcode"] == "ZZ99, 3VZ"
    assert raw["referrer"] == 'G"123"'
    assert raw["site_code_imaging"] == "RR\n801"
    assert raw["radiological_accession_num"] == "  ACC0002 "
    assert rows[1][1] == GOLDEN1


def test_empty_and_quoted_empty_fields_are_none_but_blanks_are_kept(write_bytes):
    fields = ROW1.split(",")
    fields[1], fields[2], fields[3] = '""', "   ", ""
    rows = read(write_bytes("e.csv", ",".join(fields).encode()))
    raw = rows[0][1]
    assert raw["nhs_number_status_ind"] is None
    assert raw["person_birth_date"] == "   "
    assert raw["ethnic_category"] is None


@pytest.mark.parametrize("count", [17, 19])
def test_wrong_column_count_rejects_the_file_at_its_line(write_bytes, count):
    fields = ROW1.split(",")
    bad = ",".join(fields[:17] if count == 17 else [*fields, "extra"])
    path = write_bytes("bad.csv", f"{HEADER}\r\n{ROW1}\r\n{ROW2}\r\n{bad}\r\n{ROW1}\r\n".encode())
    error = reject_of(path)
    assert (error.code, error.line) == ("DIDS075", 4)
    assert f"{count} columns" in error.message and "18" in error.message
    assert error.as_json() == {"file_reject": "DIDS075", "line": 4, "message": error.message}


def test_line_number_is_physical_after_a_multiline_record(write_bytes):
    fields = ROW1.split(",")
    fields[5] = '"LS1\n4AP"'
    bad = ",".join(ROW2.split(",")[:17])
    path = write_bytes("m.csv", (",".join(fields) + "\n" + bad + "\n").encode())
    assert reject_of(path).line == 3


def test_blank_line_inside_rejects_but_trailing_blank_lines_are_ignored(write_bytes):
    assert reject_of(write_bytes("a.csv", f"{ROW1}\n\n{ROW2}\n".encode())).line == 2
    assert len(read(write_bytes("b.csv", f"{ROW1}\r\n{ROW2}\r\n\r\n\r\n".encode()))) == 2


@pytest.mark.parametrize("data", [f"{HEADER}\r\n".encode(), b"", b"\n\n"])
def test_header_only_and_empty_files_are_rejected(write_bytes, data):
    with pytest.raises(FileRejectError) as error:
        read(write_bytes("h.csv", data))
    assert error.value.code == "DIDS075" and "no records" in error.value.message


def test_a_misspelt_header_is_data_and_fails_the_rules_not_the_reader(write_bytes):
    header = HEADER.replace("POSTCODE", "POST_CODE")
    rows = read(write_bytes("h.csv", f"{header}\n{ROW1}\n".encode()))
    assert [number for number, _ in rows] == [1, 2]


@pytest.mark.parametrize(
    ("data", "line", "words"),
    [
        (f'{ROW1}\n"abc"def' + ",x" * 17 + "\n", 2, "strict CSV"),  # text after a closing quote
        (f'{ROW1}\n"unterminated' + ",x" * 17 + "\n", 2, "strict CSV"),
        (f"{ROW1}\r{ROW2}\r", 1, "strict CSV"),  # old Mac line ends: a bare CR in an unquoted field
    ],
)
def test_unparseable_csv_rejects(write_bytes, data, line, words):
    error = reject_of(write_bytes("q.csv", data.encode()))
    assert error.code == "DIDS075" and error.line == line and words in error.message


def test_invalid_utf8_rejects_with_line_and_hint(write_bytes):
    bad = ROW2.replace("ACC0002", "ACC\xe90002").encode("cp1252")
    error = reject_of(write_bytes("w.csv", f"{HEADER}\n{ROW1}\n".encode() + bad + b"\n"))
    assert (error.code, error.line) == ("DIDS075", 3)
    assert "not valid utf-8" in error.message and "0xe9" in error.message and "cp1252" in error.message


def test_cp1252_is_read_only_when_asked_for(write_bytes):
    path = write_bytes("w.csv", ROW2.replace("ACC0002", "ACC\xe90002").encode("cp1252"))
    assert read(path, encoding="cp1252")[0][1]["radiological_accession_num"] == "ACC\xe90002"
    with pytest.raises(ValueError):
        read(path, encoding="latin-1")


def test_utf16_is_rejected_clearly(write_bytes):
    error = reject_of(write_bytes("u.csv", f"{HEADER}\n{ROW1}\n".encode("utf-16")))
    assert (error.code, error.line) == ("DIDS075", 1) and "UTF-16" in error.message


def test_nul_bytes_reject(write_bytes):
    error = reject_of(write_bytes("n.csv", f"{ROW1}\n{ROW2}\n".replace("ACC0002", "ACC\x000002").encode()))
    assert (error.code, error.line) == ("DIDS075", 2) and "NUL" in error.message


def test_a_10_mb_line_rejects_without_crashing(write_bytes):
    fields = ROW1.split(",")
    fields[17] = "A" * 10_000_000
    error = reject_of(write_bytes("big.csv", (ROW2 + "\n" + ",".join(fields) + "\n").encode()))
    assert (error.code, error.line) == ("DIDS075", 2)
    wide = write_bytes("wide.csv", (ROW2 + "\n" + "," * 10_000_000 + "\n").encode())
    assert reject_of(wide).message.startswith("row has 10000001 columns")


def test_records_before_a_bad_row_are_yielded_then_the_reject_is_raised(write_bytes):
    rows = read_csv(write_bytes("x.csv", f"{ROW1}\n{ROW2}\nbad\n".encode()))
    assert next(rows)[0] == 1
    assert next(rows)[0] == 2
    with pytest.raises(FileRejectError):
        next(rows)
