"""`dids validate` through click's CliRunner: JSON shape, row numbers, rejects, exit codes."""

from __future__ import annotations

import json
import sys

import pytest
from click.testing import CliRunner

from dids.cli import cli
from producers.extract import NAMESPACE, write_csv, write_xml
from producers.generator import SimulationConfig, extract_examinations

from .conftest import NOW

KEYS = ["row", "site_code", "accession_number", "status", "rejects", "warnings", "not_checked"]
SUBMITTED = ["--submission-date", NOW.date().isoformat()]


@pytest.fixture(scope="module")
def exams():
    """60 examinations, about a third deliberately broken, with two rows sharing a key appended."""
    exams = list(extract_examinations(SimulationConfig(seed=5, providers=2, invalid_rate=0.35), 60, NOW))
    assert sum(exam.broken_rule is not None for exam in exams) >= 10
    return exams


@pytest.fixture(scope="module")
def rows(exams):
    rows = [exam.record() for exam in exams]
    clean = [row for row, exam in zip(rows, exams, strict=True) if exam.broken_rule is None]
    twin = {**clean[0], "radiological_accession_num": "TWIN0001"}
    return [*rows, twin, dict(twin)]


def invoke(*args: str):
    return CliRunner().invoke(cli, ["validate", *args])


def lines_of(result) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.mark.parametrize("kind", ["csv", "xml"])
def test_json_one_object_per_record_in_order(tmp_path, exams, rows, kind):
    path = tmp_path / f"extract.{kind}"
    (write_csv if kind == "csv" else write_xml)(rows, path)
    result = invoke(str(path), "--json", *SUBMITTED)
    assert result.exit_code == 1, result.output
    objects = lines_of(result)
    assert len(objects) == len(rows)
    assert [obj["row"] for obj in objects] == list(range(1, len(rows) + 1))
    for obj, row in zip(objects, rows, strict=True):
        assert list(obj) == KEYS
        assert obj["site_code"] == row["site_code_imaging"]
        assert obj["accession_number"] == row["radiological_accession_num"]
        assert obj["status"] == ("rejected" if obj["rejects"] else "accepted")
        assert "DIDS016" in obj["not_checked"]  # no reference data
        assert "DIDS049" not in obj["not_checked"]  # the submission date lets it run
    for obj, exam in zip(objects, exams, strict=False):
        if exam.broken_rule is None:
            assert obj["status"] == "accepted", (obj, exam.broken_rule)
        else:
            assert exam.broken_rule in obj["rejects"] + obj["warnings"], (obj, exam.broken_rule)
    assert [obj["rejects"] for obj in objects[-2:]] == [["DIDS071"], ["DIDS071"]]


def test_all_accepted_exits_0(tmp_path, rows, exams):
    clean = [row for row, exam in zip(rows, exams, strict=False) if exam.broken_rule is None]
    path = tmp_path / "clean.csv"
    write_csv(clean, path, header=False)
    result = invoke(str(path), "--json", *SUBMITTED)
    assert result.exit_code == 0, result.output
    assert {obj["status"] for obj in lines_of(result)} == {"accepted"}
    assert invoke(str(path), *SUBMITTED).exit_code == 0


def test_file_reject_prints_one_object_and_exits_1(tmp_path, rows):
    path = tmp_path / "bad.csv"
    write_csv(rows[:5], path)
    with open(path, "a", newline="") as stream:
        stream.write("," * 18 + "\r\n")  # 19 columns on line 7
    result = invoke(str(path), "--json")
    assert result.exit_code == 1
    [obj] = lines_of(result)
    assert obj["file_reject"] == "DIDS075" and obj["line"] == 7 and "19 columns" in obj["message"]
    assert list(obj) == ["file_reject", "line", "message"]
    xml = tmp_path / "bad.xml"
    xml.write_bytes(b"<DIDS><oops></DIDS>")
    result = invoke(str(xml), "--json")
    assert result.exit_code == 1 and lines_of(result)[0]["file_reject"] == "DIDS076"
    human = invoke(str(path))
    assert human.exit_code == 1 and "DIDS075" in human.stdout and "line 7" in human.stdout


def test_readable_summary_names_codes_but_no_patient_identifiers(tmp_path, rows):
    path = tmp_path / "extract.csv"
    write_csv(rows, path)
    result = invoke(str(path), *SUBMITTED, "--show", "50")
    assert result.exit_code == 1
    out = result.stdout
    assert "Failures by rule" in out and "DIDS071" in out and "rejected" in out
    for row in rows:
        for item in ("nhs_number", "person_birth_date", "postcode"):
            value = row[item]
            if value and len(value.strip()) >= 6:
                assert value not in out, item


def test_usage_and_file_errors_exit_2(tmp_path):
    assert invoke(str(tmp_path / "missing.csv")).exit_code == 2
    assert invoke(str(tmp_path)).exit_code == 2
    (tmp_path / "x.csv").write_text("")
    assert invoke(str(tmp_path / "x.csv"), "--submission-date", "10/07/2024").exit_code == 2


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("e.csv", ""),
        ("blank.csv", "\n\n"),
        ("header.csv", None),
        ("e.xml", f"<DIDS xmlns='{NAMESPACE}'/>"),
    ],
)
def test_a_file_without_records_is_rejected(tmp_path, name, content):
    """A submission of nothing would displace a provider-month's records: a file reject, not "0 accepted"."""
    if content is None:
        from producers.extract.csv_reader import CSV_HEADERS

        content = ",".join(CSV_HEADERS) + "\n"
    (tmp_path / name).write_text(content)
    result = invoke(str(tmp_path / name), "--json")
    assert result.exit_code == 1, result.output
    reject = json.loads(result.stdout)
    assert reject["file_reject"] in ("DIDS075", "DIDS076") and "no records" in reject["message"]


def test_cp1252_option(tmp_path, rows):
    path = tmp_path / "w.csv"
    write_csv([{**rows[0], "radiological_accession_num": "ACC\xe9"}], path)
    path.write_bytes(path.read_text(encoding="utf-8").encode("cp1252"))
    assert lines_of(invoke(str(path), "--json"))[0]["file_reject"] == "DIDS075"
    result = invoke(str(path), "--json", "--encoding", "cp1252", *SUBMITTED)
    assert lines_of(result)[0]["accession_number"] == "ACC\xe9"


def test_derive_without_the_module_is_a_clear_error(tmp_path, rows, monkeypatch):
    monkeypatch.setitem(sys.modules, "streams.columnar.derivations", None)  # as if not installed
    path = tmp_path / "d.csv"
    write_csv(rows[:2], path)
    result = invoke(str(path), "--json", "--derive")
    assert result.exit_code == 2 and "streams.columnar.derivations" in result.output


def test_derive_adds_derived_values_without_identifiers(tmp_path, rows):
    path = tmp_path / "d.csv"
    write_csv(rows[:2], path)
    objects = lines_of(invoke(str(path), "--json", "--derive", *SUBMITTED))
    assert len(objects) == 2
    for obj in objects:
        assert list(obj) == [*KEYS, "derived"]
        assert obj["derived"]["PROVIDER_SITE_CODE"] == obj["site_code"]
        assert not {"NHS_NUMBER", "DATE_OF_BIRTH", "POSTCODE"} & set(obj["derived"])


def test_refdata_runs_the_reference_rules(tmp_path, rows):
    from streams.refdata.loaders import SAMPLES_DIR

    path = tmp_path / "r.csv"
    write_csv(rows, path)
    plain = lines_of(invoke(str(path), "--json", *SUBMITTED))
    with_refdata = lines_of(invoke(str(path), "--json", "--refdata", str(SAMPLES_DIR), *SUBMITTED))
    assert all("DIDS068" in obj["not_checked"] for obj in plain)
    assert not any("DIDS068" in obj["not_checked"] for obj in with_refdata)
    bad = tmp_path / "refdata"
    bad.mkdir()
    (bad / "nicip.csv").write_text("not,a,nicip,header\n")
    result = invoke(str(path), "--refdata", str(bad))
    assert result.exit_code == 2 and "nicip.csv" in result.output


def test_refdata_defaults_to_the_setting(tmp_path, rows, monkeypatch):
    from streams.refdata.loaders import SAMPLES_DIR

    path = tmp_path / "r.csv"
    write_csv(rows[:3], path)
    monkeypatch.setenv("DIDS_REFDATA_DIR", str(SAMPLES_DIR))
    assert not any("DIDS068" in obj["not_checked"] for obj in lines_of(invoke(str(path), "--json", *SUBMITTED)))
    monkeypatch.setenv("DIDS_REFDATA_DIR", str(tmp_path / "missing"))
    assert invoke(str(path), "--json").exit_code == 2


@pytest.mark.parametrize("accession", ["[/]", "[bold red]x[/]", "\x1b]0;pwned\x07A1", "A\x1b[2JB", "A\x9bB"])
def test_hostile_accession_numbers_are_shown_not_obeyed(tmp_path, rows, accession):
    """rich markup and terminal escape sequences in a submitted value reach the report as plain text."""
    broken = {**rows[0], "radiological_accession_num": accession, "nhs_number": "1234567890"}  # DIDS001: listed
    path = tmp_path / "hostile.csv"
    write_csv([broken], path)
    result = invoke(str(path), *SUBMITTED)
    assert result.exit_code == 1, result.output
    assert "\x1b" not in result.stdout and "\x9b" not in result.stdout and "\x07" not in result.stdout
    if accession.startswith("["):
        assert accession in result.stdout  # shown as it is, not read as markup
