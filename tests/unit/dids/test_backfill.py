"""`dids up`'s history is backfilled once per DIDS_HOME: the marker file decides (no services needed)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from dids.cli import backfill, cli

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
EARLIER = datetime(2026, 11, 19, 8, 30, tzinfo=UTC)


def test_a_fresh_home_backfills_up_to_now(tmp_path):
    assert backfill.planned_end(tmp_path, NOW) == NOW
    assert backfill.history_end(tmp_path) is None  # the live traffic keeps its own clock


def test_an_interrupted_backfill_is_published_again_with_its_own_end(tmp_path):
    backfill.write_marker(tmp_path, status="started", end=EARLIER.isoformat())
    assert backfill.planned_end(tmp_path, NOW) == EARLIER  # the same events again: duplicates to the worker
    assert backfill.history_end(tmp_path) is None


def test_a_finished_backfill_is_not_repeated_and_the_live_traffic_continues_it(tmp_path):
    backfill.write_marker(tmp_path, status="done", end=EARLIER.isoformat(), events=10)
    assert backfill.planned_end(tmp_path, NOW) is None
    assert backfill.history_end(tmp_path) == EARLIER
    assert not list(tmp_path.glob("*.tmp"))


def test_an_unreadable_marker_says_what_to_do(tmp_path):
    backfill.marker_path(tmp_path).write_text("{not json")
    with pytest.raises(backfill.BackfillError, match="remove it"):
        backfill.planned_end(tmp_path, NOW)


def test_up_help_says_how_to_skip_the_history():
    result = CliRunner().invoke(cli, ["up", "--help"])
    assert result.exit_code == 0, result.output
    assert "--no-backfill" in result.output and "once per" in result.output
