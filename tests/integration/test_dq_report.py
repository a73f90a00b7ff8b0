"""`dids dq-report` against the real pipeline (extract -> Kafka -> stream worker -> sink -> ClickHouse):
every rule code the broken records produce is listed, with the counts of `dq_rejects_by_rule`, and no NHS
number, postcode or birth date of the submitted records reaches the page. Then hand-counted rows for the
shares and the trend, and hostile parameters."""

from __future__ import annotations

import re
from datetime import date

import pytest
from click.testing import CliRunner

from dids.cli.dq_report import command as dq_command
from dids.cli.local_stack import settings_env
from dids.kernel.topics import ensure_topics
from producers.extract.writer import write_csv
from producers.generator import SimulationConfig, extract_examinations
from producers.submit import submit_file
from sinks.clickhouse import connect
from sinks.migrate import migrate
from tests.clock import NOW
from tests.integration.helpers import poll
from tests.integration.rows import exam, migrated, reject

N = 400
HOSTILE_ACCESSION = "<b>ACC'); DROP TABLE rejects; --"


def run(settings, *args):
    return CliRunner().invoke(dq_command, list(args), env=settings_env(settings), catch_exceptions=False)


def _cells(row_html: str) -> list[str]:
    return re.findall(r"<td[^>]*>(.*?)</td>", row_html)


def table_rows(html: str, title: str) -> list[list[str]]:
    """The data rows (cells) of the tables under a section heading."""
    return [c for c in (_cells(r) for r in re.findall(r"<tr>(.*?)</tr>", section(html, title))) if c]


def section(html: str, title: str) -> str:
    start = html.index(f"<h2>{title}</h2>")
    end = html.find("<h2>", start + 1)
    return html[start:end]


def rule_rows(html: str) -> dict[str, list[str]]:
    """code -> the cells of its row in the rules table."""
    rows = table_rows(html, "Rules that fired")
    return {cells[0]: cells for cells in rows if cells}


def rule_counts(html: str) -> dict[tuple[str, str], int]:
    return {(code, cells[1]): int(cells[3].replace(",", "")) for code, cells in rule_rows(html).items()}


def test_dq_report_of_a_submitted_extract(settings_factory, service_factory, tmp_path):
    settings = settings_factory()
    ensure_topics(settings)
    migrate(settings)
    service_factory(settings, "streams", ready_port=settings.streams_metrics_port)
    service_factory(settings, "sink", ready_port=settings.sink_metrics_port)

    exams = list(extract_examinations(SimulationConfig(seed=23, providers=1, invalid_rate=0.3), N, NOW))
    rows = [e.record() for e in exams]
    broken = {e.broken_rule for e in exams if e.broken_rule}
    first_bad = next(i for i, e in enumerate(exams) if e.broken_rule and rows[i]["radiological_accession_num"])
    rows[first_bad]["radiological_accession_num"] = HOSTILE_ACCESSION  # markup and SQL in a shown value
    path = tmp_path / "extract.csv"
    write_csv(rows, path)
    result = submit_file(settings, path, period="2026-10", received=NOW)
    assert result.record_count == N

    client = connect(settings)
    stored = "SELECT (SELECT count() FROM examinations) + (SELECT count() FROM rejects)"
    assert poll(lambda: client.command(stored), N, 180) == N
    provider = client.command("SELECT any(provider_code) FROM examinations")

    # every month of the provider: the report's rule counts are the view's
    months = [
        r[0]
        for r in client.query(
            "SELECT DISTINCT month FROM dq_rejects_by_rule WHERE provider_code = {p:String} AND month != '' ORDER BY 1",
            parameters={"p": provider},
        ).result_rows
    ]
    assert months
    pages = []
    for month in months:
        out = tmp_path / f"dq-{month}.html"
        res = run(settings, "--provider", provider.lower(), "--month", month, "--out", str(out))
        assert res.exit_code == 0, res.output
        html = out.read_text(encoding="utf-8")
        pages.append(html)
        view = dict(
            client.query(
                "SELECT rule, toInt64(sum(records)) FROM dq_rejects_by_rule WHERE provider_code = {p:String} "
                "AND month = {m:String} GROUP BY rule",
                parameters={"p": provider, "m": month},
            ).result_rows
        )
        shown = {code: n for (code, severity), n in rule_counts(html).items() if severity == "reject"}
        assert shown == view, month
        rejected = client.command(
            "SELECT count() FROM rejects FINAL WHERE provider_code = {p:String} "
            "AND formatDateTime(diagnostic_test_date, '%Y-%m') = {m:String}",
            parameters={"p": provider, "m": month},
        )
        counts = table_rows(html, "Records")
        assert counts[2][:2] == ["Rejected", f"{rejected:,}"]

    # the whole file: every rule the breakage produces, with the rejects table's counts and record numbers
    out = tmp_path / "dq-file.html"
    res = run(settings, "--submission", result.submission_id.upper(), "--out", str(out))
    assert res.exit_code == 0, res.output
    html = out.read_text(encoding="utf-8")
    pages.append(html)
    listed = {code for code, _ in rule_counts(html)}
    assert broken <= listed, broken - listed
    by_rule = dict(
        client.query(
            "SELECT rule, toInt64(count()) FROM rejects FINAL ARRAY JOIN rejects AS rule GROUP BY rule"
        ).result_rows
    )
    assert {c: n for (c, s), n in rule_counts(html).items() if s == "reject"} == by_rule
    total_rejected = client.command("SELECT count() FROM rejects FINAL")
    assert f'<td>Rejected</td><td class="n">{total_rejected:,}</td>' in html
    rejected_rows = table_rows(html, "Rejected records")
    assert len(rejected_rows) == total_rejected
    numbers = {int(r[2].replace(",", "")) for r in rejected_rows}
    assert first_bad + 1 in numbers  # the record number in the file (data records from 1)
    hostile = next(r for r in rejected_rows if r[2] == f"{first_bad + 1:,}")
    assert hostile[1] == "&lt;b&gt;ACC&#x27;); DROP TABLE rejects; --"
    assert client.command("SELECT count() FROM rejects") > 0  # (and the table is still there)
    assert re.search(r"DIDS\d{3} \(reject\): [A-Z_]+", hostile[3])

    # no patient value from the input anywhere
    for page in pages:
        assert "<script" not in page and "<b>" not in page
        for row in rows:
            for item in ("nhs_number", "postcode", "person_birth_date"):
                value = (row[item] or "").strip()
                if len(value) >= 6:
                    assert value not in page, (item, value)
    print(f"\ndq-report: provider {provider}, months {months}, rules {sorted(listed)}")


# --------------------------------------------------------------------------------------------------
# hand-counted rows: shares, national share, trend, and the parameters' checks

ROWS = [
    exam("A1", warnings=["DIDS061"]),
    exam("A2", gp_code="A81001"),
    exam("A3", gp_code="A81002"),
    exam("B1", provider="RBB"),
    exam("S1", test_date=date(2026, 9, 2)),
]
REJECTS = [
    reject("R1", ["DIDS012", "DIDS040"]),
    reject("R2", ["DIDS012"]),
    reject("R3", ["DIDS012"], provider="RBB"),
    reject("R4", ["DIDS012"], test_date=date(2026, 9, 1)),
]


@pytest.fixture(scope="module")
def seeded(module_settings_factory):
    """Seeded once: the report only reads, and the hostile parameters must change nothing (each checks)."""
    settings = module_settings_factory()
    client = migrated(settings)
    client.put("examinations", ROWS)
    client.put("rejects", REJECTS)
    return settings


def test_shares_national_share_and_trend(seeded, tmp_path):
    out = tmp_path / "dq.html"
    res = run(seeded, "--provider", "RAA", "--month", "2026-10", "--out", str(out))
    assert res.exit_code == 0, res.output
    html = out.read_text(encoding="utf-8")
    counts = table_rows(html, "Records")
    assert [c[:3] for c in counts] == [
        ["Records received", "5", ""],
        ["Accepted", "3", "60.0%"],
        ["Rejected", "2", "40.0%"],
        ["Accepted with warnings", "1", "20.0%"],
    ]
    rules = rule_rows(html)
    # code, severity, wording, records, share, national share (of 4 accepted + 3 rejected in 2026-10),
    # then 2026-05 .. 2026-10: RAA's share each month (2026-09: 1 of 1 accepted + 1 rejected)
    assert [rules["DIDS012"][i] for i in (1, 3, 4, 5)] == ["reject", "2", "40.0%", "42.9%"]
    assert rules["DIDS012"][6:] == ["–", "–", "–", "–", "50.0%", "40.0%"]
    assert [rules["DIDS040"][i] for i in (1, 3, 4, 5)] == ["reject", "1", "20.0%", "14.3%"]
    assert [rules["DIDS061"][i] for i in (1, 3, 4, 5)] == ["warning", "1", "20.0%", "14.3%"]
    assert rules["DIDS012"][2]  # the national wording
    assert list(rules) == ["DIDS012", "DIDS040", "DIDS061"]
    blanks = {c[0]: c[1:] for c in table_rows(html, "Completeness of each item")}
    assert blanks["PRACTICE_CODE"] == ["1", "33.3%"]  # A1 has no practice
    assert blanks["SITE_CODE_IMAGING"] == ["0", "0.0%"]
    rejected = table_rows(html, "Rejected records")
    assert [r[:3] for r in rejected] == [["RAA01", "R1", "–"], ["RAA01", "R2", "–"]]
    assert "R3" not in html and "R4" not in html  # another provider, another month


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--provider", "RAA' OR 1=1 --", "--month", "2026-10"], "is not an ODS organisation code"),
        (["--provider", "R\x1b[2J", "--month", "2026-10"], "is not an ODS organisation code"),
        (["--provider", "RAA", "--month", "2026-10'; DROP TABLE rejects"], "is not YYYY-MM"),
        (["--provider", "RAA", "--month", "2026-13"], "is not YYYY-MM"),
        (["--submission", "1' UNION SELECT * FROM system.users --"], "is not a submission id"),
        (["--submission", "x" * 5000], "is not a submission id"),
        (["--provider", "RAA"], "give --provider CODE and --month YYYY-MM"),
        (
            ["--provider", "RAA", "--month", "2026-10", "--submission", "0c3f4e7a-1b2d-5e6f-8a9b-0c1d2e3f4a5b"],
            "not both",
        ),
    ],
)
def test_hostile_parameters_get_a_clear_error(seeded, tmp_path, args, message):
    out = tmp_path / "dq.html"
    res = run(seeded, *args, "--out", str(out))
    assert res.exit_code == 2, res.output
    assert message in res.output and "Traceback" not in res.output
    assert "\x1b" not in res.output
    assert len(res.output) < 1000
    assert not out.exists()
    assert connect(seeded).command("SELECT count() FROM rejects") == len(REJECTS)


def test_unknown_submission_and_a_directory_out(seeded, tmp_path):
    res = run(seeded, "--submission", "0c3f4e7a-1b2d-5e6f-8a9b-0c1d2e3f4a5b", "--out", str(tmp_path / "dq.html"))
    assert res.exit_code == 1
    assert "no submission 0c3f4e7a-1b2d-5e6f-8a9b-0c1d2e3f4a5b in the warehouse" in res.output
    assert "SELECT submission_id" in res.output
    res = run(seeded, "--provider", "RAA", "--month", "2026-10", "--out", str(tmp_path))
    assert res.exit_code == 2 and "is a directory" in res.output
    res = run(seeded, "--provider", "RAA", "--month", "2026-10", "--out", str(tmp_path / "missing" / "dq.html"))
    assert res.exit_code == 1 and "cannot write" in res.output and "folder exists" in res.output
