"""`dids validate FILE --report FILE.html`: the data-quality report before submission, no warehouse.
Its counts are the validation run's, every broken rule is listed, and no submitted patient value (nor
markup from the file) reaches the page."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from dids.cli import cli
from producers.extract import write_csv
from producers.generator import SimulationConfig, extract_examinations
from sinks.report.dq_html import NOT_BEFORE_SUBMISSION

from .conftest import NOW

SUBMITTED = ["--submission-date", NOW.date().isoformat()]
HOSTILE = "<img src=x onerror=alert(1)>"


def invoke(*args: str):
    return CliRunner().invoke(cli, ["validate", *args])


def rows_of(html: str, title: str) -> list[list[str]]:
    start = html.index(f"<h2>{title}</h2>")
    end = html.find("<h2>", start + 1)
    part = html[start:end]
    rows = [re.findall(r"<td[^>]*>(.*?)</td>", r) for r in re.findall(r"<tr>(.*?)</tr>", part)]
    return [r for r in rows if r]


@pytest.fixture(scope="module")
def extract(tmp_path_factory):
    exams = list(extract_examinations(SimulationConfig(seed=9, providers=2, invalid_rate=0.35), 80, NOW))
    rows = [e.record() for e in exams]
    bad = next(i for i, e in enumerate(exams) if e.broken_rule and e.broken_rule != "DIDS070")
    rows[bad]["radiological_accession_num"] = HOSTILE
    rows[bad + 1]["person_gender_code"] = "   "  # blank after trimming
    path = tmp_path_factory.mktemp("dq") / "RR8_2024-06.csv"
    write_csv(rows, path)
    return path, exams, rows, bad


def test_report_before_submission(tmp_path, extract):
    path, exams, rows, bad = extract
    out = tmp_path / "dq.html"
    result = invoke(str(path), *SUBMITTED, "--report", str(out))
    assert result.exit_code == 1, result.output
    assert "wrote the data-quality report" in result.output
    html = out.read_text(encoding="utf-8")
    judged = [json.loads(line) for line in invoke(str(path), *SUBMITTED, "--json").stdout.splitlines()]
    rejected = [j for j in judged if j["status"] == "rejected"]

    counts = {r[0]: r[1] for r in rows_of(html, "Records")}
    assert counts == {
        "Records received": "80",
        "Accepted": f"{80 - len(rejected)}",
        "Rejected": f"{len(rejected)}",
        "Accepted with warnings": f"{sum(1 for j in judged if j['warnings'])}",
    }
    rules = {r[0]: r for r in rows_of(html, "Rules that fired")}
    assert {e.broken_rule for e in exams if e.broken_rule} <= set(rules)
    for code, cells in rules.items():
        if cells[1] == "reject":
            assert int(cells[3]) == sum(code in j["rejects"] for j in judged), code
        assert cells[5:] == [NOT_BEFORE_SUBMISSION, NOT_BEFORE_SUBMISSION]
    listed = rows_of(html, "Rejected records")
    assert [int(r[2]) for r in listed] == [j["row"] for j in rejected]
    assert [r for r in listed if r[2] == str(bad + 1)][0][1] == "&lt;img src=x onerror=alert(1)&gt;"
    blanks = {r[0]: r[1] for r in rows_of(html, "Completeness of each item")}
    expected = sum(1 for row in rows if not (row["person_gender_code"] or "").strip())
    assert blanks["PERSON_GENDER_CODE"] == str(expected) and expected >= 1
    assert "<img" not in html and "<script" not in html
    for row in rows:
        for item in ("nhs_number", "postcode", "person_birth_date"):
            value = (row[item] or "").strip()
            if len(value) >= 6:
                assert value not in html, (item, value)


def test_report_of_a_rejected_file_and_bad_report_paths(tmp_path, extract):
    path = tmp_path / "bad.csv"
    path.write_bytes(extract[0].read_bytes() + b"," * 18 + b"\r\n")  # 19 columns on the last line
    out = tmp_path / "dq.html"
    result = invoke(str(path), "--report", str(out))
    assert result.exit_code == 1
    html = out.read_text(encoding="utf-8")
    assert "The whole file was rejected: DIDS075 at line 82" in html

    result = invoke(str(extract[0]), "--report", str(tmp_path))
    assert result.exit_code == 2 and "is a directory" in result.output
    result = invoke(str(extract[0]), "--report", str(tmp_path / "missing" / "dq.html"))
    assert result.exit_code == 2 and "cannot write" in result.output and "Traceback" not in result.output
