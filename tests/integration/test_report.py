"""`dids report` and `dids sql --format parquet` against the real ClickHouse engine.

Rows go straight into `examinations` and `rejects` (the sink is tested end to end elsewhere), so every
number the report must show is counted by hand from the rows below.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from click.testing import CliRunner

from dids.cli import cli
from dids.cli.local_stack import settings_env
from dids.cli.report import command as report_command
from dids.cli.sql import command as sql_command
from tests.integration.rows import CT, exam, migrated, reject

ROWS = [
    # 2026-10, RAA: 3 CT (request->test 1, 2, 3; test->report 0, 2, none), 2 X-ray, one more X-ray cancelled;
    # the test's hour known for C1 and C2 (09:00) and X1 (14:00), the others date only
    exam("C1", modality=CT, test_request_to_test=1, test_to_service_report_issued=0, test_hour=9),
    exam("C2", modality=CT, test_request_to_test=2, test_to_service_report_issued=2, test_hour=9),
    exam("C3", modality=CT, test_request_to_test=3),
    exam("X1", test_request_to_test=5, patient_source_setting="04", early_cancer_diagnosis="Chest X-ray", test_hour=14),
    exam("X2", test_request_to_test=9, early_cancer_diagnosis="Chest X-ray", warnings=["DIDS061"]),
    exam("X9", status="cancelled"),
    # 2026-10, RBB: 1 X-ray
    exam("B1", provider="RBB"),
    # 2026-09 (in the window) and 2025-09 (one month before it)
    exam("S1", test_date=date(2026, 9, 2)),
    exam("S2", test_date=date(2026, 9, 3)),
    exam("O1", test_date=date(2025, 9, 30)),
]
REJECTS = [
    reject("R1", ["DIDS012", "DIDS040"]),
    reject("R2", ["DIDS012"]),
    reject("R3", ["DIDS040"], provider="RBB"),
    reject("R4", ["DIDS077"], test_date=date(2026, 9, 1)),  # another month
]


@pytest.fixture(scope="module")
def warehouse_db(module_settings_factory):
    """Seeded once: the reports and queries below only read it."""
    settings = module_settings_factory()
    client = migrated(settings)
    client.put("examinations", ROWS)
    client.put("rejects", REJECTS)
    return settings


def run(command, settings, *args):
    return CliRunner().invoke(command, list(args), env=settings_env(settings), catch_exceptions=False)


def cells(html: str) -> list[str]:
    return re.findall(r"<td[^>]*>(.*?)</td>", html)


def row_after(html: str, first: str, n: int) -> list[str]:
    c = cells(html)
    i = c.index(first)
    return c[i : i + n]


def test_report_uses_the_published_views_by_default(warehouse_db, tmp_path):
    out = tmp_path / "report.html"
    result = run(cli, warehouse_db, "report", "--month", "2026-10", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert result.output.rstrip().endswith("live data for 2026-10, disclosure-controlled")
    html = out.read_text(encoding="utf-8")
    assert "<title>DIDS report 2026-10 (live)</title>" in html and "INTERNAL USE ONLY" not in html
    assert "6 tests in 2026-10" in html  # the national total is exact
    # every count of this small month is 1..7: hidden, with the statistics of the hidden cells
    assert row_after(html, "2026-10", 4) == ["2026-10", "*", "*", "6"]
    assert row_after(html, CT, 10) == [CT] + ["*"] * 9
    assert row_after(html, "Chest X-ray", 6) == ["Chest X-ray", "*", "*", "*", "*", "*"]
    assert row_after(html, "Y56", 6) == ["Y56", "RAA", "RAA &lt;Trust&gt; &amp; Co", "*", "*", "*"]
    assert "counts 1 to 7 suppressed" in html and "* : hidden by disclosure control" in html
    # utilisation from pub_utilisation_hourly: RAA01's CT hour 09:00 (2 tests) and its date-only test hidden
    assert row_after(html, "RAA01", 9) == ["RAA01", "RAA", "CT", "09:00–09:59", "*", "09:00–09:59", "*", "*", "*"]


def test_report_without_disclosure_control_says_internal_use_only(warehouse_db, tmp_path):
    out = tmp_path / "report.html"
    # through the `dids` command group, as an analyst runs it
    result = run(cli, warehouse_db, "report", "--month", "2026-10", "--no-disclosure-control", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.output and "KiB" in result.output
    assert "INTERNAL USE ONLY, no disclosure control" in result.output
    html = out.read_text(encoding="utf-8")
    # activity, waiting times, rejects by rule, rejects by provider, a utilisation heatmap for CT and X-ray
    assert html.count("<svg") == 6
    assert "<title>DIDS report 2026-10 (live) INTERNAL USE ONLY</title>" in html
    assert "<strong>INTERNAL USE ONLY: no disclosure control.</strong>" in html
    assert f"from database {warehouse_db.clickhouse_database}." in html
    assert "6 tests in 2026-10; 3 rejected records" in html

    # activity: X-ray is the busiest modality, so its column comes first; the cancelled X9 is not counted
    assert row_after(html, "2026-10", 4) == ["2026-10", "3", "3", "6"]
    assert row_after(html, "2026-09", 4) == ["2026-09", "2", "0", "2"]
    assert row_after(html, "2025-10", 4) == ["2025-10", "–", "–", "–"]  # first month of the window: no data
    assert "2025-09" not in cells(html)  # before the window
    # waiting times: CT request->test 1,2,3 (median 2, p90 2.8, p95 2.9); test->report 0,2 (median 1)
    assert row_after(html, CT, 10) == [CT, "3", "3", "2", "2.8", "2.9", "2", "1", "1.8", "1.9"]
    # early cancer: 1 of the 2 chest X-rays by GP direct access
    assert row_after(html, "Chest X-ray", 6) == ["Chest X-ray", "1", "2", "50.0%", "5", "7"]
    # providers, busiest first, names escaped
    assert row_after(html, "Y56", 6) == ["Y56", "RAA", "RAA &lt;Trust&gt; &amp; Co", "5", "2", "3"]
    assert "RBB &lt;Trust&gt; &amp; Co" in html and "<Trust>" not in html
    # data quality: rule failures, rejected records by provider (labels and counts are in the SVG text)
    # (rule: rejected records, warnings on current records; provider: rejected records)
    assert row_after(html, "DIDS012", 3) == ["DIDS012", "2", "0"]
    assert row_after(html, "DIDS040", 3) == ["DIDS040", "2", "0"]
    assert row_after(html, "DIDS061", 3) == ["DIDS061", "0", "1"]
    c = cells(html)
    assert c[c.index("DIDS061") + 3 : c.index("DIDS061") + 7] == ["RAA", "2", "RBB", "1"]
    assert "DIDS077" not in html  # rejected in another month
    # utilisation: RAA01's CT busiest (and only) hour 09:00 with 2 tests, 1 more with a date only
    assert row_after(html, "RAA01", 9) == ["RAA01", "RAA", "CT", "09:00–09:59", "2", "09:00–09:59", "2", "2", "1"]
    # self-contained: no scripts, nothing fetched from elsewhere
    assert "<script" not in html
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", html)


def test_report_for_an_empty_month_and_a_missing_snapshot(warehouse_db, tmp_path):
    out = tmp_path / "empty.html"
    result = run(report_command, warehouse_db, "--month", "2020-01", "--out", str(out))
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert "<svg" not in html
    assert "No data for the 13 months to 2020-01." in html and "No rejected records for 2020-01." in html

    result = run(report_command, warehouse_db, "--month", "2026-10", "--source", "final", "--out", str(out))
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert "No final snapshot of 2026-10 has been taken" in html
    assert html.count("<svg") == 4  # only the live ones: data quality, and utilisation (CT and X-ray heatmaps)


def test_report_refuses_a_bad_month_and_explains_a_database_without_migrations(settings_factory, tmp_path):
    settings = settings_factory()
    result = run(report_command, settings, "--month", "2026-13", "--out", str(tmp_path / "r.html"))
    assert result.exit_code == 2
    assert "'2026-13' is not YYYY-MM" in result.output
    result = run(report_command, settings, "--month", "2026-10", "--out", str(tmp_path / "r.html"))
    assert result.exit_code == 1
    assert "dids db migrate" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "r.html").exists()


def test_sql_parquet_and_out(warehouse_db, tmp_path):
    query = "SELECT provider_code, count() AS n FROM examinations FINAL WHERE status = 'active' GROUP BY 1 ORDER BY 1"
    parquet = tmp_path / "f.parquet"
    result = run(sql_command, warehouse_db, query, "--format", "parquet", "--out", str(parquet))
    assert result.exit_code == 0, result.output
    data = parquet.read_bytes()
    assert data[:4] == b"PAR1" and data[-4:] == b"PAR1"
    assert f"wrote {parquet}" in result.output

    # the same rows as CSV, to a file instead of stdout
    csv_file = tmp_path / "f.csv"
    result = run(sql_command, warehouse_db, query, "--format", "csv", "--out", str(csv_file))
    assert result.exit_code == 0, result.output
    assert csv_file.read_text() == "provider_code,n\nRAA,8\nRBB,1\n"
    assert "wrote 2 rows" in result.output

    # a table too, as wide as it needs, without terminal colour codes
    table_file = tmp_path / "f.txt"
    result = run(sql_command, warehouse_db, query, "--out", str(table_file))
    assert result.exit_code == 0, result.output
    text = table_file.read_text()
    assert "provider_code" in text and "RAA" in text and "2 rows" in text and "\x1b[" not in text

    # the Parquet file holds those rows (read back with the embedded engine)
    import chdb

    back = chdb.query(f"SELECT * FROM file('{parquet}', Parquet) ORDER BY 1", "CSV").bytes().decode()
    assert back == '"RAA",8\n"RBB",1\n'


def test_sql_parquet_needs_out():
    result = CliRunner().invoke(sql_command, ["SELECT 1", "--format", "parquet"])
    assert result.exit_code == 2
    assert "--format parquet writes binary data: give --out FILE" in result.output
