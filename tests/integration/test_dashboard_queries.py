"""Every ClickHouse query in the Grafana dashboards, run on the real engine against the real migrations.

Grafana's ClickHouse plugin expands its macros and the template variables before it sends a query;
`grafana_sql` does the same with a fixed time range and variable values, so a query that would fail in
Grafana (a wrong column, a type mismatch, a macro in the wrong place) fails here. Rows go straight into
the tables the sink fills, as in test_warehouse_views.py, and the activity and data-quality panels must
show exactly them.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

import pytest

from tests.integration.rows import T0, exam, migrated, reject
from tests.unit.deploy.test_dashboards import DASHBOARDS, clickhouse_queries, panels

# the dashboard time range every query runs with: all of 2026
RANGE_FROM = datetime(2026, 1, 1, tzinfo=timezone.utc)
RANGE_TO = datetime(2026, 12, 31, 23, 59, 59, tzinfo=timezone.utc)
FROM_TIME, TO_TIME = f"toDateTime({int(RANGE_FROM.timestamp())})", f"toDateTime({int(RANGE_TO.timestamp())})"
OCT, SEP = date(2026, 10, 15), date(2026, 9, 20)
PROVIDERS = ["RAA", "RBB"]  # what the $provider variable offers: the providers seeded below
ALL = None  # the variable's "All" selection


def submission(sid, status="accepted", *, period="2026-09", received=T0, **extra):
    row = {
        "submission_id": sid,
        "status": status,
        "submitter_org": "RBB",
        "period": period,
        "file_name": f"{sid}.csv",
        "file_format": "csv",
        "sha256": sid,
        "record_count": 1,
        "received_time": received,
        "published_time": received,
        "kafka_topic": "s",
        "kafka_partition": 0,
        "kafka_offset": 0,
    }
    return row | extra


@pytest.fixture(scope="module")
def db(module_settings_factory):
    """Seeded once: the panels' queries only read it."""
    settings = module_settings_factory()
    client = migrated(settings)
    insert = client.put
    insert(
        "examinations",
        [
            exam("A1", test_request_to_test=2, test_to_service_report_issued=1, test_hour=10),
            exam("A2", test_request_to_test=4, warnings=["W10"]),
            exam("A3", modality="CT", test_request_to_test=10),
            # RBB's September came in an extract file, the last good file for that provider-month
            exam("B1", provider="RBB", test_date=SEP, modality="MRI", source="extract", submission_id="S1"),
            exam("C1", status="cancelled"),  # not current: counted nowhere
            exam("OLD", test_date=date(2025, 6, 1)),  # outside the time range
        ],
    )
    insert(
        "rejects",
        [
            reject("R1", ["E01", "E07"]),
            reject("R2", ["E07"], provider="RBB", test_date=SEP),
            reject("R3", ["E02"], provider=None, test_date=None),  # no provider, no test date: still a reject
        ],
    )
    insert(
        "submissions",
        [
            submission("S1"),
            submission("S2", "rejected", received=T0 + timedelta(hours=1), file_reject_code="F03"),
        ],
    )
    client.database_name = settings.clickhouse_database
    return client


# ------------------------------------------------------------------------------------ Grafana's expansion
def _expand_calls(sql: str, expand) -> str:
    """Replace each `$__macro(arg, ...)` call, with balanced parentheses, by expand(name, args)."""
    call = re.compile(r"\$__(\w+)\(")
    while m := call.search(sql):
        depth, i, start, args = 1, m.end(), m.end(), []
        while depth:
            if sql[i] == "(":
                depth += 1
            elif sql[i] == ")":
                depth -= 1
            elif sql[i] == "," and depth == 1:
                args.append(sql[start:i].strip())
                start = i + 1
            i += 1
        args.append(sql[start : i - 1].strip())
        sql = sql[: m.start()] + expand(m.group(1), args) + sql[i:]
    return sql


def grafana_sql(sql: str, database: str, provider: str | None = ALL) -> str:
    """The SQL the ClickHouse plugin would send for RANGE_FROM..RANGE_TO and the given $provider."""
    selected = {"provider": [provider] if provider else PROVIDERS, "source": ["live"]}
    is_all = {"provider": provider is ALL, "source": False}

    def macro(name, args):
        if name == "timeFilter":  # as the plugin writes them: epoch seconds
            (col,) = args
            return f"{col} >= {FROM_TIME} AND {col} <= {TO_TIME}"
        if name == "dateFilter":
            (col,) = args
            return f"{col} >= toDate('{RANGE_FROM.date()}') AND {col} <= toDate('{RANGE_TO.date()}')"
        if name == "conditionalAll":  # the condition, or 1=1 when the variable selects everything
            condition, variable = args
            return "1=1" if is_all[variable.strip("${}")] else condition
        raise AssertionError(f"no expansion for macro $__{name}")

    sql = _expand_calls(sql, macro)
    sql = sql.replace("$__fromTime", FROM_TIME).replace("$__toTime", TO_TIME)
    for name, values in selected.items():
        sql = sql.replace(f"${{{name}:singlequote}}", ",".join(f"'{v}'" for v in values))
        sql = re.sub(rf"\$\{{{name}\}}|\${name}\b", ",".join(values), sql)
    assert "$" not in sql, f"unexpanded Grafana syntax left in:\n{sql}"
    return re.sub(r"\bdids\.(?=\w)", f"{database}.", sql)  # the dashboards' database is this test's own


def panel_rows(db, dashboard: str, title: str, provider: str | None = ALL) -> list[tuple]:
    (panel,) = [p for p in panels(DASHBOARDS[dashboard]) if p["title"] == title]
    (target,) = panel["targets"]
    return db.query(grafana_sql(target["rawSql"], db.database_name, provider)).result_rows


# ------------------------------------------------------------------------------------------------ tests
def test_macro_expansion_matches_the_plugin():
    sql = "SELECT 1 FROM dids.t WHERE $__timeFilter(t) AND $__conditionalAll(p IN (${provider:singlequote}), $provider)"
    assert grafana_sql(sql, "db1", "RAA") == (
        "SELECT 1 FROM db1.t WHERE t >= toDateTime(1767225600) AND t <= toDateTime(1798761599) AND p IN ('RAA')"
    )
    assert grafana_sql(sql, "db1").endswith("AND 1=1")


def test_every_clickhouse_query_runs(db):
    failures = []
    queries = list(clickhouse_queries())
    assert len(queries) >= 10
    for name, what, sql in queries:
        for provider in (ALL, "RAA"):
            try:
                db.query(grafana_sql(sql, db.database_name, provider))
            except Exception as exc:  # collect them all: one report names every broken panel
                failures.append(f"{name}: {what} (provider={provider or 'All'}): {exc}")
    assert not failures, "\n\n".join(failures)


def test_provider_variables_offer_the_seeded_providers(db):
    for name, what, sql in clickhouse_queries():
        if what == "variable $provider":
            rows = db.query(grafana_sql(sql, db.database_name)).result_rows
            assert [r[0] for r in rows] == PROVIDERS, name


def test_activity_panels_show_the_current_examinations_in_range(db):
    activity = "activity.json"
    # A1, A2, A3 and B1: C1 is cancelled and OLD is outside the range
    assert panel_rows(db, activity, "Tests in range") == [(4,)]
    assert panel_rows(db, activity, "Tests in range", provider="RAA") == [(3,)]
    per_day = panel_rows(db, activity, "Tests per day by modality")
    assert sorted((t.date(), m, n) for t, m, n in per_day) == [
        (SEP, "MRI", 1),
        (OCT, "CT", 1),
        (OCT, "Plain radiography", 2),
    ]
    per_month = panel_rows(db, activity, "Tests per month by modality", provider="RBB")
    assert [(t.date(), m, n) for t, m, n in per_month] == [(date(2026, 9, 1), "MRI", 1)]
    assert panel_rows(db, activity, "Tests by provider and modality") == [
        ("RAA", "CT", 1),
        ("RAA", "Plain radiography", 2),
        ("RBB", "MRI", 1),
    ]
    waits = {
        (r[0], r[1]): r[2:7] for r in panel_rows(db, activity, "Waiting times (days), by month of test and modality")
    }
    # request -> test in days: 2 and 4 for plain radiography in October (median 3, PERCENTILE.INC p90 3.8)
    tests, n, median, p90, _ = waits[("2026-10", "Plain radiography")]
    assert (tests, n, median) == (2, 2, 3)
    assert p90 == pytest.approx(3.8)
    assert set(waits) == {("2026-10", "Plain radiography"), ("2026-10", "CT"), ("2026-09", "MRI")}
    last_seen = panel_rows(db, activity, "Provider last seen (warehouse)")
    assert sorted((p, t.replace(tzinfo=timezone.utc)) for p, t, _ in last_seen) == [("RAA", T0), ("RBB", T0)]
    # Thursday 15 October: A1 at 10:00, A2 and A3 date only; Sunday 20 September: B1 date only
    utilisation = panel_rows(db, activity, "Tests by weekday and hour (equipment utilisation)")
    assert [(r[0], r[1 + 10], sum(r[1:25]), r[25]) for r in utilisation] == [("Thu", 1, 1, 2), ("Sun", 0, 0, 1)]
    assert panel_rows(db, activity, "Tests by weekday and hour (equipment utilisation)", provider="RBB") == [
        ("Sun", *[0] * 24, 1)
    ]
    submissions = panel_rows(db, activity, "Submissions (extract files)")
    assert [(r[1], r[2], r[8]) for r in submissions] == [("S2", "rejected", "F03"), ("S1", "accepted", None)]


def test_data_quality_panels_count_the_seeded_rejects_and_warnings(db):
    quality = "data-quality.json"
    # R3 has no test date: it has no month but is counted whatever the range
    assert sorted(panel_rows(db, quality, "Rejected records by rule")) == [("E01", 1), ("E02", 1), ("E07", 2)]
    assert sorted(panel_rows(db, quality, "Rejected records by rule", provider="RAA")) == [("E01", 1), ("E07", 1)]
    assert panel_rows(db, quality, "Warnings by rule (current records)") == [("W10", 1)]
    assert sorted(panel_rows(db, quality, "Rejects by provider")) == [("(none)", 1), ("RAA", 1), ("RBB", 1)]
    by_month = panel_rows(db, quality, "Rejects by month of test and rule")
    assert sorted((t.date(), rule, n) for t, rule, n in by_month) == [
        (date(2026, 9, 1), "E07", 1),
        (date(2026, 10, 1), "E01", 1),
        (date(2026, 10, 1), "E07", 1),
    ]
    assert len(panel_rows(db, quality, "Recent rejects")) == 3
