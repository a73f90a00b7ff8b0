from datetime import date

import pytest

from sinks.snapshots import Policy, SnapshotError, check_month, due, month_end, refdata_version


def test_month_end_and_month_check():
    assert month_end("2026-02") == date(2026, 2, 28)
    assert month_end("2028-02") == date(2028, 2, 29)
    assert month_end("2026-12") == date(2026, 12, 31)
    for bad in ("2026-13", "2026-1", "26-01", "2026/01", "", "2026-00"):
        with pytest.raises(SnapshotError, match="YYYY-MM"):
            check_month(bad)


def test_due_snapshots_follow_the_policy_and_skip_what_was_taken():
    policy = Policy(provisional_days=35, final_days=185)
    months = ["2026-03", "2026-09", "2026-10", "2026-10"]
    # 2026-09 ends on the 30th: provisional due 2026-11-04; 2026-10: due 2026-12-05;
    # 2026-03 final: 2026-03-31 + 185 days = 2026-10-02
    assert due(date(2026, 11, 22), months, set(), policy) == [
        ("2026-03", "provisional"),
        ("2026-03", "final"),
        ("2026-09", "provisional"),
    ]
    assert due(date(2026, 12, 5), months, {("2026-03", "provisional"), ("2026-03", "final")}, policy) == [
        ("2026-09", "provisional"),
        ("2026-10", "provisional"),
    ]
    assert (
        due(
            date(2026, 12, 4),
            months,
            {("2026-03", "provisional"), ("2026-03", "final"), ("2026-09", "provisional")},
            policy,
        )
        == []
    )


def test_refdata_version_names_the_folder_and_changes_with_its_files(tmp_path):
    assert refdata_version("") == "shipped samples (demo)"
    (tmp_path / "nicip.csv").write_text("a\n")
    first = refdata_version(str(tmp_path))
    (tmp_path / "nicip.csv").write_text("b\n")
    assert first != refdata_version(str(tmp_path)) and str(tmp_path) in first
