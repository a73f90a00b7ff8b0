"""The published statistics views (``pub_*``, migration 0010) on the real engine: every count suppressed,
rounded, zero or the national total; no hidden cell of the provider x modality table given back by a
total minus the others; statistics of hidden cells hidden; the rules are data the views read.

Rows go straight into ``examinations`` (as in test_warehouse_views.py), crafted so that primary
suppression alone would leak, and every expectation is worked out by hand below.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import defaultdict
from datetime import date

import pytest

from dids.cli.local_stack import settings_env
from sinks import snapshots
from sinks.clickhouse import connect
from sinks.disclosure import DisclosureRules, current_rules
from tests.integration.rows import CT, XR, exam, migrated

MR = "Magnetic resonance imaging"
US = "Ultrasonography"
MONTH = "2026-10"
# the crafted month: provider -> modality -> tests. RAA's 3 CT tests are the one small cell of its row
# and of the CT column; RCC's 5 MR tests are the one small cell of the MR column, whose other cells
# (RAA's 20, the national 25) are multiples of 5 already: primary suppression and rounding alone would
# publish 20 and 25, and 25 - 20 gives the 5 back exactly.
TABLE = {
    "RAA": {CT: 3, XR: 40, MR: 20},
    "RBB": {CT: 30, XR: 100, US: 15},
    "RCC": {CT: 25, XR: 60, MR: 5, US: 45},
}


def rows_of(table, month_day=date(2026, 10, 15), prefix=""):
    out = []
    for provider, modalities in table.items():
        for modality, n in modalities.items():
            out += [
                exam(f"{prefix}{provider}{modality[:2]}{i}", provider=provider, modality=modality, test_date=month_day)
                for i in range(n)
            ]
    return out


def seeded(settings):
    client = migrated(settings)
    client.put("examinations", rows_of(TABLE))
    return client


@pytest.fixture(scope="module")
def db(module_settings_factory):
    """Seeded with TABLE once for the tests that only read it."""
    return seeded(module_settings_factory())


@pytest.fixture
def own_db(settings_factory):
    """Seeded with TABLE for a test that adds rows of its own."""
    return seeded(settings_factory())


def provider_table(db, month=MONTH):
    """(provider, modality) -> published tests, with the provider totals ('Total') and the national row
    (provider None) from pub_activity_by_modality."""
    cells = {
        (p, m): n
        for p, m, n in db.query(
            "SELECT provider_code, modality, tests FROM pub_provider_modality_month "
            "WHERE source = 'live' AND month = {m:String}",
            parameters={"m": month},
        ).result_rows
    }
    for m, n in db.query(
        "SELECT modality, tests FROM pub_activity_by_modality WHERE source = 'live' AND month = {m:String}",
        parameters={"m": month},
    ).result_rows:
        cells[(None, m)] = n
    return cells


def lines(cells):
    """Each line of the table with its margin: a provider's modalities with its total, a modality's
    providers with its national count, the provider totals, the national modality counts. The national
    total (None, 'Total') is exact and belongs to no line as an unknown."""
    out = defaultdict(list)
    for (p, m), n in cells.items():
        if (p, m) == (None, "Total"):
            continue
        out[("row", p)].append(n)
        out[("column", m)].append(n)
    return out


def test_no_hidden_cell_comes_back_by_subtraction(db):
    cells = provider_table(db)
    # primary suppression
    assert cells[("RAA", CT)] is None and cells[("RCC", MR)] is None
    # the national total is exact; every other count is hidden, or rounded to 5 and never to 0
    assert cells.pop((None, "Total")) == 343
    for key, n in cells.items():
        assert n is None or (n % 5 == 0 and n > 0), key
    # a naive scheme (primary suppression and rounding only) leaks by subtraction
    true = true_table()
    naive = {k: (None if 1 <= v <= 7 else round5(v)) for k, v in true.items() if k != (None, "Total")}
    leaked = {line for line, members in lines(naive).items() if sum(v is None for v in members) == 1}
    assert leaked == {("row", "RAA"), ("column", CT), ("row", "RCC"), ("column", MR)}
    assert naive[(None, MR)] - naive[("RAA", MR)] == true[("RCC", MR)] == 5
    # here no line has exactly one hidden cell, in either dimension or the margins
    for line, members in lines(cells).items():
        assert sum(v is None for v in members) != 1, (line, members)
    # and the hidden cells are the small ones and the fewest next-smallest that protect them
    hidden = sorted((str(p), m) for (p, m), n in cells.items() if n is None)
    print(f"\nhidden cells: {hidden}")
    assert len(hidden) < len(cells) // 2


def round5(n):
    return max(5, (n + 2) // 5 * 5)


def true_table():
    cells = {}
    for p, modalities in TABLE.items():
        for m, n in modalities.items():
            cells[(p, m)] = n
            cells[(None, m)] = cells.get((None, m), 0) + n
        cells[(p, "Total")] = sum(modalities.values())
    cells[(None, "Total")] = sum(cells[(p, "Total")] for p in TABLE)
    return cells


def counts_of(db, view, columns):
    return db.query(f"SELECT {', '.join(columns)} FROM {view}").result_rows


def test_every_published_count_is_hidden_rounded_zero_or_the_national_total(own_db):
    db = own_db
    # a second month, busier, with a snapshot too, so that every source is covered
    db.put("examinations", rows_of({"RAA": {CT: 12, XR: 1}, "RDD": {US: 64, XR: 9}}, date(2026, 9, 3), "S"))
    snapshots.take(db, db.database, MONTH, "provisional", refdata="test")
    national = dict(
        db.query("SELECT month, count() FROM stats_records WHERE source = 'live' GROUP BY month").result_rows
    )
    counted = 0
    for view, columns in {
        "pub_activity_by_modality": ["tests"],
        "pub_provider_modality_month": ["tests"],
        "pub_waiting_times": ["tests", "request_to_test_n", "test_to_report_n"],
        "pub_early_cancer_gp_direct": ["gp_direct_tests", "all_tests"],
    }.items():
        extra = ", modality" if view in ("pub_activity_by_modality", "pub_provider_modality_month") else ", ''"
        for row in db.query(f"SELECT source, month{extra}, {', '.join(columns)} FROM {view}").result_rows:
            _, month, modality, *values = row
            for n in values:
                counted += 1
                exact_total = view == "pub_activity_by_modality" and modality == "Total" and n == national[month]
                assert n is None or n == 0 or exact_total or n % 5 == 0, (view, row)
    assert counted > 20


def test_statistics_of_hidden_cells_are_hidden(settings_factory):
    db = migrated(settings_factory())
    rows = (
        # MR: 4 tests with a report (and 5 more below without); CT: 20 tests, only 3 with a request date
        [exam(f"M{i}", modality=MR, test_request_to_test=i, test_to_service_report_issued=1) for i in range(4)]
        + [exam(f"C{i}", modality=CT, test_request_to_test=i if i < 3 else None) for i in range(20)]
        # X-ray: 30 tests, all with waits; 8 of them chest X-rays for early cancer, 2 by GP direct access
        + [exam(f"X{i}", test_request_to_test=10 + i, test_to_service_report_issued=2) for i in range(22)]
        + [
            exam(
                f"E{i}",
                test_request_to_test=i,
                early_cancer_diagnosis="Chest X-ray",
                patient_source_setting="04" if i < 2 else "01",
            )
            for i in range(8)
        ]
        # 5 MRI brain tests for early cancer: the whole row is hidden
        + [exam(f"B{i}", modality=MR, early_cancer_diagnosis="MRI brain", test_request_to_test=i) for i in range(5)]
    )
    db.put("examinations", rows)
    waits = {
        r[0]: r[1:]
        for r in db.query(
            "SELECT modality, tests, request_to_test_n, request_to_test_median, request_to_test_p95, "
            "test_to_report_n, test_to_report_median FROM pub_waiting_times WHERE source = 'live'"
        ).result_rows
    }
    # MR's 4 reports hide its test->report statistics, CT's 3 request dates its request->test ones
    assert waits[MR] == (10, 10, 2.0, pytest.approx(3.6), None, None)
    assert waits[CT] == (20, None, None, None, 0, None)
    assert waits[XR] == (30, 30, 16.5, pytest.approx(29.55), 20, 2.0)
    cancer = {
        r[0]: r[1:]
        for r in db.query(
            "SELECT test_group, gp_direct_tests, all_tests, gp_direct_share, gp_direct_request_to_test_median, "
            "all_request_to_test_median FROM pub_early_cancer_gp_direct WHERE source = 'live'"
        ).result_rows
    }
    assert cancer["Chest X-ray"] == (None, 10, None, None, 3.5)  # 2 GP direct: hidden, with share and median
    assert cancer["MRI brain"] == (None, None, None, None, None)  # 5 in all: the whole row
    raw = db.query("SELECT gp_direct_tests, all_tests FROM stats_early_cancer_gp_direct ORDER BY test_group")
    assert raw.result_rows == [(2, 8), (0, 5)]


def test_the_rules_are_data_the_views_read(settings_factory, tmp_path):
    settings = settings_factory(disclosure_threshold=10, disclosure_rounding_base=10)
    db = migrated(settings)
    db.put("examinations", rows_of(TABLE))
    assert current_rules(db, db.database) == DisclosureRules(10, 10)
    cells = provider_table(db)
    assert cells.pop((None, "Total")) == 343
    assert all(n is None or n % 10 == 0 for n in cells.values())
    assert cells[("RBB", US)] == 20 and cells[("RAA", MR)] is None  # 15 rounds to 20; 10 or fewer: hidden

    # new rules take effect at the next migrate, without a new view; the history is kept
    migrated(settings.with_(disclosure_threshold=7, disclosure_rounding_base=5))
    assert provider_table(db)[("RBB", US)] == 15
    assert db.command("SELECT count() FROM disclosure_rules") == 2
    migrated(settings.with_(disclosure_threshold=7, disclosure_rounding_base=5))  # the same rules: no new row
    assert db.command("SELECT count() FROM disclosure_rules") == 2

    # no rules recorded: the published views publish nothing rather than everything
    db.command("TRUNCATE TABLE disclosure_rules")
    for view in (
        "pub_activity_by_modality",
        "pub_provider_modality_month",
        "pub_waiting_times",
        "pub_early_cancer_gp_direct",
    ):
        assert db.command(f"SELECT count() FROM {view}") == 0, view
    assert db.command("SELECT count() FROM stats_provider_modality_month") > 0


@pytest.mark.parametrize(
    "variable, value",
    [
        ("DIDS_DISCLOSURE_THRESHOLD", "-1"),
        ("DIDS_DISCLOSURE_THRESHOLD", "7.5"),
        ("DIDS_DISCLOSURE_THRESHOLD", "7; DROP TABLE disclosure_rules"),
        ("DIDS_DISCLOSURE_ROUNDING_BASE", "0"),
        ("DIDS_DISCLOSURE_ROUNDING_BASE", "1e3"),
        ("DIDS_DISCLOSURE_ROUNDING_BASE", "99999999999"),
    ],
)
def test_a_bad_rule_stops_migrate_before_anything_runs(settings_factory, variable, value):
    settings = settings_factory()
    env = os.environ | settings_env(settings) | {variable: value}
    result = subprocess.run([sys.executable, "-m", "dids", "db", "migrate"], env=env, capture_output=True, text=True)
    assert result.returncode == 2, result.stderr
    assert f"error: {variable}=" in result.stderr and "Traceback" not in result.stderr
    admin = connect(settings.with_(clickhouse_database="default"))
    assert admin.command(f"EXISTS DATABASE {settings.clickhouse_database}") == 0


def test_the_analyst_reads_the_published_views(settings_factory, tmp_path):
    """On a warehouse of its own: the analyst account reads the views of the database it serves only."""
    from deploy.warehouse.process import start_warehouse
    from dids.kernel.ports import free_port

    settings = settings_factory()
    wh = start_warehouse(
        tmp_path / "wh",
        free_port(),
        tmp_path / "wh.log",
        admin_password="admin-secret",
        database=settings.clickhouse_database,
    )
    try:
        settings = settings.with_(clickhouse_url=wh.url, clickhouse_password="admin-secret")
        migrated(settings).put("examinations", rows_of(TABLE))
        analyst = connect(settings, user="analyst", password="analyst")
        for view in (
            "pub_activity_by_modality",
            "pub_provider_modality_month",
            "pub_waiting_times",
            "pub_early_cancer_gp_direct",
            "disclosure_rules",
        ):
            analyst.command(f"SELECT count() FROM {view}")
        assert analyst.command("SELECT tests FROM pub_activity_by_modality WHERE modality = 'Total'") == 343
    finally:
        wh.stop()


def test_random_tables_keep_no_line_with_one_hidden_cell(settings_factory):
    """Twelve generated months (fixed seed), many small cells among larger ones: the property holds in each."""
    import random

    rng = random.Random(18)
    db = migrated(settings_factory())
    modalities = [CT, XR, MR, US, "Fluoroscopy", "Nuclear medicine"]
    rows = []
    for month in range(1, 13):
        table = {}
        for p in ("RAA", "RBB", "RCC", "RDD", "REE")[: rng.randint(2, 5)]:
            chosen = rng.sample(modalities, rng.randint(1, 4))
            table[p] = {m: rng.choice([1, 2, 3, 5, 7, 8, 12, 20, 33]) for m in chosen}
        if len({m for cells in table.values() for m in cells}) < 2:
            table["RAA"][modalities[-1] if CT in table["RAA"] else CT] = 9
        rows += rows_of(table, date(2025, month, 10), f"{month}-")
    db.put("examinations", rows)
    for month in range(1, 13):
        cells = provider_table(db, f"2025-{month:02d}")
        cells.pop((None, "Total"))
        for line, members in lines(cells).items():
            assert sum(v is None for v in members) != 1, (month, line, members)


def test_dids_sql_shows_a_months_published_rows_and_says_when_there_are_none(db, settings_factory):
    """The month column is text 'YYYY-MM': compared with it, `dids sql` shows the month's published rows;
    compared with another string ('2026-10-01') nothing matches, and the command says 0 rows instead of
    printing nothing (which read as the views being empty); a number or a date is a type error."""
    from click.testing import CliRunner

    from dids.cli.sql import command as sql_command

    settings = settings_factory(clickhouse_database=db.database)

    def sql(query):
        return CliRunner().invoke(sql_command, [query], env=settings_env(settings), catch_exceptions=False)

    view = "SELECT modality, tests FROM pub_activity_by_modality WHERE source = 'live' AND month = "
    shown = sql(view + "'2026-10' ORDER BY modality")
    assert shown.exit_code == 0, shown.output
    assert "Total" in shown.output and "343" in shown.output and "5 rows" in shown.output
    none = sql(view + "'2026-10-01'")
    assert none.exit_code == 0 and none.output.strip() == "0 rows"
    wrong_type = sql(view + "202610")
    assert wrong_type.exit_code == 1 and "NO_COMMON_TYPE" in wrong_type.output
