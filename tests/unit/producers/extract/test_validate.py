"""dids validate's validate_extract: the stream's cleansing and rules, DIDS071 over the file, streamed in passes."""

from __future__ import annotations

import sys

import pytest

from dids.cli import validation as validate_module
from dids.cli.validation import Summary, validate_extract
from producers.extract import FileRejectError, duplicates, open_extract, write_csv
from streams.cleanse import CleansedRecord, cleanse
from streams.rules import Context, validate_submission


@pytest.fixture
def with_duplicates(generated):
    rows = [dict(row) for row in generated[:300]]
    site, accession = rows[5]["site_code_imaging"], rows[5]["radiological_accession_num"]
    rows[7].update(site_code_imaging=f" {site} ", radiological_accession_num=accession)  # equal after trimming
    rows[250].update(site_code_imaging=site, radiological_accession_num=accession)
    rows[9].update(site_code_imaging=site, radiological_accession_num=accession.lower())  # case differs: unique
    rows[11].update(site_code_imaging=None, radiological_accession_num=accession)  # blank part: left out
    return rows


def run(tmp_path, rows, context, **options):
    path = tmp_path / "extract.csv"
    write_csv(rows, path)
    return list(validate_extract(open_extract(path), context, **options))


def test_same_outcomes_as_validate_submission_on_the_whole_list(tmp_path, with_duplicates, now):
    context = Context(submission_time=now)
    reports = run(tmp_path, with_duplicates, context)
    expected = validate_submission([cleanse(row) for row in with_duplicates], context)
    assert [report.outcome for report in reports] == expected
    assert [report.row for report in reports] == list(range(1, 301))
    flagged = [report.row for report in reports if "DIDS071" in report.outcome.rejects]
    assert flagged == [6, 8, 251]


def test_hash_collisions_never_make_false_duplicates(tmp_path, with_duplicates, now, monkeypatch):
    monkeypatch.setattr(validate_module, "hash", lambda key: 42, raising=False)
    reports = run(tmp_path, with_duplicates, Context(submission_time=now))
    assert [report.row for report in reports if "DIDS071" in report.outcome.rejects] == [6, 8, 251]


def test_report_shape_and_json(tmp_path, generated, now):
    [report] = run(tmp_path, generated[:1], Context(submission_time=now))
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
    [report] = run(tmp_path, generated[:1], Context())
    assert {"DIDS049", "DIDS051", "DIDS055", "DIDS066"} <= set(report.outcome.not_checked)


def test_a_file_reject_comes_before_any_report(tmp_path, generated, now):
    path = tmp_path / "bad.csv"
    write_csv(generated[:50], path)
    with open(path, "a") as stream:
        stream.write("only,three,columns\r\n")
    reports = validate_extract(open_extract(path), Context(submission_time=now))
    with pytest.raises(FileRejectError) as caught:
        next(reports)
    assert caught.value.line == 52


def test_derive_hook_and_progress_phases(tmp_path, with_duplicates, now):
    calls: list[str] = []
    phases: list[str] = []

    def derive(record, context):
        assert isinstance(record, CleansedRecord) and context.submission_time == now
        calls.append(record.radiological_accession_num)
        return {"provider": (record.site_code_imaging or "")[:3]}

    reports = run(
        tmp_path,
        with_duplicates,
        Context(submission_time=now),
        derive=derive,
        on_progress=lambda phase, done, total: phases.append(phase),
    )
    assert len(calls) == 300 and reports[0].as_json()["derived"]["provider"]
    assert list(dict.fromkeys(phases)) == [
        duplicates.PHASE_KEYS,
        duplicates.PHASE_DUPLICATES,
        validate_module.PHASE_RULES,
    ]


def test_summary_counts(tmp_path, with_duplicates, now):
    summary = Summary(show_failures=3)
    for report in run(tmp_path, with_duplicates, Context(submission_time=now)):
        summary.add(report)
    assert summary.records == 300 == summary.accepted + summary.rejected
    assert summary.rejects_by_code["DIDS071"] == 3
    assert len(summary.failures) == 3
    assert summary.fields_by_code["DIDS071"] == {"site_code_imaging", "radiological_accession_num"}


def test_prepare_runs_before_the_rules(tmp_path, generated, now):
    from dataclasses import replace

    def drop_codes(record):
        return replace(record, imaging_code_nicip=None, imaging_code_snomed=None)

    reports = run(tmp_path, generated[:20], Context(submission_time=now), prepare=drop_codes)
    assert all("DIDS056" in report.outcome.rejects for report in reports)


@pytest.mark.parametrize("slots", [1, 8, 1 << 20])
def test_duplicates_are_exact_whatever_the_bitmap_size(tmp_path, with_duplicates, slots):
    path = tmp_path / "extract.csv"
    write_csv(with_duplicates, path)
    site, accession = with_duplicates[5]["site_code_imaging"], with_duplicates[5]["radiological_accession_num"]
    assert duplicates.duplicate_keys(open_extract(path), slots=slots) == {(site, accession)}


def test_local_codes_are_mapped_before_the_rules_for_the_submitter(tmp_path, generated, now):
    from streams.refdata.loaders import SAMPLES_DIR

    rows = [{**generated[0], "imaging_code_nicip": "XCHESTPA", "imaging_code_snomed": None}]
    mapped = validate_module.build_checks(now, refdata_dir=SAMPLES_DIR, submitter="RXX")
    unmapped = validate_module.build_checks(now, refdata_dir=SAMPLES_DIR)
    assert mapped.prepare is not None and unmapped.prepare is None
    [good] = run(tmp_path, rows, mapped.context, prepare=mapped.prepare)
    [bad] = run(tmp_path, rows, unmapped.context)
    assert "DIDS057" not in good.outcome.rejects
    assert "DIDS057" in bad.outcome.rejects


def test_unavailable_optional_modules_are_a_setup_error(now, monkeypatch):
    monkeypatch.setitem(sys.modules, "streams.derive", None)
    with pytest.raises(validate_module.ValidationSetupError, match="streams.derive"):
        validate_module.build_checks(now, derive=True)
    assert validate_module.build_checks(now).derive is None
