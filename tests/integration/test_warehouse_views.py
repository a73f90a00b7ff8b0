"""The analyst-facing ClickHouse objects on the real engine: last good file, snapshots, statistics.

Rows go straight into the tables the sink fills (the sink itself is tested end to end elsewhere),
so every expectation here is computed by hand from the rows below.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from sinks import snapshots
from tests.integration.rows import T0, exam, migrated


@pytest.fixture
def db(settings_factory):
    return migrated(settings_factory())


@pytest.fixture(scope="module")
def schema(module_settings_factory):
    """A migrated database with no rows, once, for the tests that only read its definitions."""
    return migrated(module_settings_factory())


def submission(sid, received, period="2026-10"):
    return {
        "submission_id": sid,
        "status": "accepted",
        "submitter_org": "RAA",
        "period": period,
        "file_name": f"{sid}.csv",
        "file_format": "csv",
        "sha256": sid,
        "record_count": 0,
        "received_time": received,
        "published_time": received,
        "kafka_topic": "s",
        "kafka_partition": 0,
        "kafka_offset": 0,
    }


def current(db):
    return sorted(r[0] for r in db.query("SELECT record_key FROM current_examinations").result_rows)


def test_last_good_file_replaces_the_provider_month_and_later_events_apply_on_top(db):
    t1, t2 = T0, T0 + timedelta(days=2)
    db.put(
        "examinations",
        [
            exam("X1", submission="A", received=t1),
            exam("X2", submission="A", received=t1),
            exam("X3", submission="A", received=t1),
            exam("S1", submission="A", received=t1, test_date=date(2026, 9, 20)),  # another month
            exam("B1", provider="RBB", submission="A", received=t1),  # another provider
            exam("X4", received=t1 + timedelta(hours=1)),  # real-time, before file B
            exam("X1", submission="B", received=t2, version=2),
            exam("X2", submission="B", received=t2, version=2),
            exam("X5", received=t2 + timedelta(hours=1)),  # real-time, after file B
            exam("X3", received=t2 + timedelta(hours=2), version=3),  # re-sent after B: on top
            exam("X6", received=t2 + timedelta(hours=3), status="cancelled"),
        ],
    )
    db.put("submissions", [submission("A", t1), submission("B", t2)])
    lgf = db.query("SELECT provider_code, period, submission_id FROM last_good_files ORDER BY 1").result_rows
    assert lgf == [("RAA", "2026-10", "B"), ("RBB", "2026-10", "A")]
    # X4 came before file B and is not in it: it leaves; everything else stays current
    assert current(db) == ["RAA01|S1", "RAA01|X1", "RAA01|X2", "RAA01|X3", "RAA01|X5", "RBB01|B1"]
    # activity counts are counts over the current records
    assert db.command("SELECT sum(tests) FROM activity_monthly") == 6
    assert db.query("SELECT month, sum(tests) FROM activity_monthly GROUP BY month ORDER BY month").result_rows == [
        ("2026-09", 1),
        ("2026-10", 5),
    ]
    # a rejected file changes nothing
    db.put("submissions", [dict(submission("C", t2 + timedelta(days=1)), status="rejected")])
    assert len(current(db)) == 6


def test_snapshots_are_frozen_and_replaced_atomically(db):
    database = db.database
    db.put("examinations", [exam(f"A{i}") for i in range(5)] + [exam("N1", test_date=date(2026, 11, 2))])
    first = snapshots.take(db, database, "2026-10", "provisional", refdata="test")
    assert first.records == 5
    again = snapshots.take(db, database, "2026-10", "provisional", refdata="test")
    assert again.records == 5
    count = "SELECT count() FROM snapshot_examinations WHERE snapshot_month = '2026-10' AND snapshot_kind = '{}'"
    assert db.command(count.format("provisional")) == 5  # replaced, not doubled

    # live data moves on; the provisional snapshot does not
    db.put("examinations", [exam("A0", version=2, status="cancelled"), exam("L1"), exam("L2")])
    assert db.command(count.format("provisional")) == 5
    final = snapshots.take(db, database, "2026-10", "final", refdata="test")
    assert final.records == 6
    assert db.query(
        "SELECT provider_code, modality, provisional_tests, final_tests, revision FROM snapshot_revisions "
        "WHERE month = '2026-10'"
    ).result_rows == [("RAA", "Plain radiography", 5, 6, 1)]
    listed = db.query("SELECT month, kind, records, refdata FROM snapshots FINAL ORDER BY kind").result_rows
    assert listed == [("2026-10", "final", 6, "test"), ("2026-10", "provisional", 5, "test")]
    # an empty month's snapshot is empty, and replaces whatever was there
    assert snapshots.take(db, database, "2025-01", "final", refdata="test").records == 0
    # 2026-11 ends on the 30th: its provisional snapshot is due 35 days later, on 2027-01-04
    assert snapshots.due(
        date(2027, 1, 4),
        snapshots.months_with_data(db, database),
        snapshots.taken(db, database),
        snapshots.Policy(35, 185),
    ) == [("2026-11", "provisional")]


def test_statistics_match_hand_computed_values_live_and_from_a_snapshot(db):
    ct = {"modality": "Computerized axial tomography"}
    rows = [
        # CT: request->test 1,2,3,4 days; test->report 0,0,1 (one without a report)
        exam("C1", test_request_to_test=1, test_to_service_report_issued=0, **ct),
        exam("C2", test_request_to_test=2, test_to_service_report_issued=0, **ct),
        exam("C3", test_request_to_test=3, test_to_service_report_issued=1, **ct),
        exam("C4", test_request_to_test=4, **ct),
        # chest X-rays for the early-cancer table: 2 GP direct access, 1 other
        exam("X1", test_request_to_test=5, patient_source_setting="04", early_cancer_diagnosis="Chest X-ray"),
        exam("X2", test_request_to_test=9, patient_source_setting="04", early_cancer_diagnosis="Chest X-ray"),
        exam("X3", test_request_to_test=20, patient_source_setting="01", early_cancer_diagnosis="Chest X-ray"),
        exam("Y1", provider="RBB", test_date=date(2026, 9, 1)),
    ]
    db.put("examinations", rows)

    def stats(source):
        activity = db.query(
            "SELECT month, modality, tests FROM stats_activity_by_modality WHERE source = {s:String} ORDER BY 1, 2",
            parameters={"s": source},
        ).result_rows
        waits = db.query(
            "SELECT request_to_test_n, request_to_test_median, request_to_test_p90, request_to_test_p95, "
            "test_to_report_n, test_to_report_median FROM stats_waiting_times "
            "WHERE source = {s:String} AND month = '2026-10' AND modality = 'Computerized axial tomography'",
            parameters={"s": source},
        ).result_rows
        cancer = db.query(
            "SELECT test_group, gp_direct_tests, all_tests, gp_direct_share, gp_direct_request_to_test_median, "
            "all_request_to_test_median FROM stats_early_cancer_gp_direct WHERE source = {s:String}",
            parameters={"s": source},
        ).result_rows
        providers = db.query(
            "SELECT month, provider_code, provider_name, modality, tests FROM stats_provider_modality_month "
            "WHERE source = {s:String} ORDER BY 1, 2, 4",
            parameters={"s": source},
        ).result_rows
        return activity, waits, cancer, providers

    activity, waits, cancer, providers = stats("live")
    assert activity == [
        ("2026-09", "Plain radiography", 1),
        ("2026-09", "Total", 1),
        ("2026-10", "Computerized axial tomography", 4),
        ("2026-10", "Plain radiography", 3),
        ("2026-10", "Total", 7),
    ]
    # interpolated percentiles of 1,2,3,4: median 2.5; p90 at rank 2.7 -> 3.7; p95 at rank 2.85 -> 3.85
    n, median, p90, p95, report_n, report_median = waits[0]
    assert (n, report_n) == (4, 3)
    assert (median, report_median) == (2.5, 0)
    assert p90 == pytest.approx(3.7) and p95 == pytest.approx(3.85)
    assert cancer == [("Chest X-ray", 2, 3, pytest.approx(0.6667), 7.0, 9.0)]
    assert providers == [
        ("2026-09", "RBB", "RBB <Trust> & Co", "Plain radiography", 1),
        ("2026-10", "RAA", "RAA <Trust> & Co", "Computerized axial tomography", 4),
        ("2026-10", "RAA", "RAA <Trust> & Co", "Plain radiography", 3),
    ]

    snapshots.take(db, db.database, "2026-10", "provisional", refdata="test")
    snap_activity, snap_waits, snap_cancer, snap_providers = stats("provisional")
    assert snap_activity == [r for r in activity if r[0] == "2026-10"]
    assert snap_waits == waits and snap_cancer == cancer
    assert snap_providers == [r for r in providers if r[0] == "2026-10"]


def test_cluster_variant_of_every_migration_parses_in_clickhouse(schema):
    """No cluster here to run it on, but ClickHouse's own parser reads every statement of it."""
    from sinks.migrate import ddl

    statements = ddl(schema.database, "dids_cluster")
    for statement in statements:
        formatted = schema.query("SELECT formatQuery({q:String})", parameters={"q": statement}).result_rows[0][0]
        assert "ON CLUSTER dids_cluster" in formatted
    print(f"\n{len(statements)} cluster statements parsed")


def test_wide_tables_merge_column_by_column(schema):
    """0007: vertical merges from the first merge keep the warehouse's memory down (README Performance)."""
    wide = schema.query(
        "SELECT name, engine_full FROM system.tables WHERE database = {d:String} "
        "AND name IN ('examinations', 'rejects', 'snapshot_examinations') ORDER BY name",
        parameters={"d": schema.database},
    ).result_rows
    assert [name for name, _ in wide] == ["examinations", "rejects", "snapshot_examinations"]
    for name, engine in wide:
        assert "vertical_merge_algorithm_min_rows_to_activate = 1" in engine, name
