"""dids validate's validate_extract: the stream's columnar engine over the file, DIDS071 over the whole file."""

from __future__ import annotations

import sys

import pytest

from dids.cli import validation as validate_module
from dids.cli.validation import build_checks, validate_extract
from producers.extract import FileRejectError, duplicates, open_extract, write_csv
from streams.rules import Context
from tests.unit.streams.one_record import judge_many


@pytest.fixture
def with_duplicates(generated):
    rows = [dict(row) for row in generated[:300]]
    site, accession = rows[5]["site_code_imaging"], rows[5]["radiological_accession_num"]
    rows[7].update(site_code_imaging=f" {site} ", radiological_accession_num=accession)  # equal after trimming
    rows[250].update(site_code_imaging=site, radiological_accession_num=accession)
    rows[9].update(site_code_imaging=site, radiological_accession_num=accession.lower())  # case differs: unique
    rows[11].update(site_code_imaging=None, radiological_accession_num=accession)  # blank part: left out
    return rows


def run(tmp_path, rows, submitted, **options):
    path = tmp_path / "extract.csv"
    write_csv(rows, path)
    return list(validate_extract(open_extract(path), build_checks(submitted, **options)).reports())


def test_same_outcomes_as_the_engine_given_the_file_s_duplicates(tmp_path, with_duplicates, now):
    reports = run(tmp_path, with_duplicates, now)
    # rows 6, 8 and 251 share a key once trimmed; 10 differs in case only, 12 has a blank part
    repeated = [index in (5, 7, 250) for index in range(len(with_duplicates))]
    expected = judge_many(with_duplicates, Context(submission_time=now), duplicate=repeated)
    assert [(r.rejects, r.warnings, r.not_checked) for r in reports] == [
        (tuple(e.rejects), tuple(e.warnings), tuple(e.not_checked)) for e in expected
    ]
    assert [r.failures for r in reports] == [tuple((c, f) for c, _, f in e.failures) for e in expected]
    assert [report.row for report in reports] == list(range(1, 301))
    flagged = [report.row for report in reports if "DIDS071" in report.rejects]
    assert flagged == [6, 8, 251]


@pytest.mark.parametrize("rows", [7, 100, 1000])
def test_batches_of_any_size_give_the_same_run(tmp_path, with_duplicates, now, rows):
    path = tmp_path / "extract.csv"
    write_csv(with_duplicates, path)
    whole = validate_extract(open_extract(path), build_checks(now)).frame
    batched = validate_extract(open_extract(path), build_checks(now), batch_rows=rows).frame
    assert batched.equals(whole)


def test_report_shape_and_json(tmp_path, generated, now):
    [report] = run(tmp_path, generated[:1], now)
    assert report.site_code == generated[0]["site_code_imaging"]
    assert list(report.as_json()) == [
        "row",
        "site_code",
        "accession_number",
        "status",
        "rejects",
        "warnings",
        "not_checked",
    ]


def test_without_submission_time_the_submission_rules_are_not_checked(tmp_path, generated):
    [report] = run(tmp_path, generated[:1], None)
    assert {"DIDS049", "DIDS051", "DIDS055", "DIDS066"} <= set(report.not_checked)


def test_a_file_reject_comes_before_any_report(tmp_path, generated, now):
    path = tmp_path / "bad.csv"
    write_csv(generated[:50], path)
    with open(path, "a") as stream:
        stream.write("only,three,columns\r\n")
    with pytest.raises(FileRejectError) as caught:
        validate_extract(open_extract(path), build_checks(now))
    assert caught.value.line == 52


def test_derive_and_progress(tmp_path, with_duplicates, now):
    phases: list[str] = []
    path = tmp_path / "extract.csv"
    write_csv(with_duplicates, path)
    checks = build_checks(now, derive=True)
    progress = lambda phase, done, total: phases.append(phase)  # noqa: E731
    reports = list(validate_extract(open_extract(path), checks, on_progress=progress).reports())
    derived = reports[0].as_json()["derived"]
    assert derived["PROVIDER_SITE_CODE"] == with_duplicates[0]["site_code_imaging"]
    assert not set(derived) & validate_module.IDENTIFYING_COLUMNS
    assert set(phases) == {validate_module.PHASE_READING}


def test_summary_counts(tmp_path, with_duplicates, now):
    path = tmp_path / "extract.csv"
    write_csv(with_duplicates, path)
    summary = validate_extract(open_extract(path), build_checks(now)).summary(show_failures=3)
    assert summary.records == 300 == summary.accepted + summary.rejected
    assert summary.rejects_by_code["DIDS071"] == 3
    assert len(summary.failures) == 3
    assert summary.fields_by_code["DIDS071"] == {"site_code_imaging", "radiological_accession_num"}
    reports = run(tmp_path, with_duplicates, now)
    assert summary.rejected == sum(not r.accepted for r in reports)
    assert summary.with_warnings == sum(bool(r.warnings) for r in reports)


@pytest.mark.parametrize("slots", [1, 8, 1 << 20])
def test_duplicates_are_exact_whatever_the_bitmap_size(tmp_path, with_duplicates, slots):
    path = tmp_path / "extract.csv"
    write_csv(with_duplicates, path)
    site, accession = with_duplicates[5]["site_code_imaging"], with_duplicates[5]["radiological_accession_num"]
    assert duplicates.duplicate_keys(open_extract(path), slots=slots) == {(site, accession)}


def test_local_codes_are_mapped_before_the_rules_for_the_submitter(tmp_path, generated, now):
    from streams.refdata.loaders import SAMPLES_DIR

    rows = [{**generated[0], "imaging_code_nicip": "XCHESTPA", "imaging_code_snomed": None}]
    [good] = run(tmp_path, rows, now, refdata_dir=SAMPLES_DIR, submitter="RXX")
    [bad] = run(tmp_path, rows, now, refdata_dir=SAMPLES_DIR)
    assert "DIDS057" not in good.rejects
    assert "DIDS057" in bad.rejects


def test_unavailable_optional_modules_are_a_setup_error(now, monkeypatch):
    monkeypatch.setitem(sys.modules, "streams.columnar.derivations", None)
    with pytest.raises(validate_module.ValidationSetupError, match="streams.columnar.derivations"):
        validate_module.build_checks(now, derive=True)
    assert validate_module.build_checks(now).derive is False
