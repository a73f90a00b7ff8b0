"""`dids up` backfills a simulated history through the real pipeline, once per DIDS_HOME, and the live
traffic continues from its end: as a user runs it, at a small volume so that it stays short."""

from __future__ import annotations

import json
from datetime import datetime

from producers.generator import SimulationConfig
from producers.history import history_months
from tests.integration.test_stack import _dids, stack_env


def _sql(env, query: str) -> list[list[str]]:
    done = _dids(env, "sql", query, "--format", "csv")
    assert done.returncode == 0, done.stderr
    return [line.split(",") for line in done.stdout.strip().splitlines()[1:]]


def test_up_backfills_the_history_once_and_the_live_traffic_continues_it(tmp_path):
    home = tmp_path / "home"
    env = stack_env(home)
    try:
        up = _dids(env, "up", "--backfill-volume", "10", "--rate", "20", timeout=900)
        assert up.returncode == 0, up.stdout + up.stderr
        marker = json.loads((home / "backfill.json").read_text())
        assert marker["status"] == "done" and marker["events"] > 0
        end = datetime.fromisoformat(marker["end"])
        assert f"--since {end.isoformat()}" in up.stdout  # the live clock starts where the history ends

        # tests in every month of the history, all judged and written through the pipeline
        query = "SELECT DISTINCT month FROM stats_records WHERE source = 'live' ORDER BY month"
        months = [m for (m,) in _sql(env, query)]
        assert months[: len(history_months(end))] == history_months(end)
        # waits as a radiology department has them, not 0 days
        mri, xray = _sql(
            env,
            "SELECT modality, quantileExactInclusive(0.5)(test_request_to_test) FROM current_examinations "
            "WHERE modality IN ('Magnetic resonance imaging', 'Plain radiography') GROUP BY modality ORDER BY modality",
        )
        assert float(mri[1]) >= 14 and float(xray[1]) == 0
        # judged as submitted when they happened: no history-wide "too old" (DIDS055) nor late (DIDS049)
        ((late,),) = _sql(env, "SELECT countIf(has(rejects, 'DIDS055') OR has(warnings, 'DIDS049')) FROM rejects")
        ((warned,),) = _sql(env, "SELECT countIf(has(warnings, 'DIDS049')) FROM examinations")
        assert (late, warned) == ("0", "0")
        # the simulator's deliberate rule breaks are there, at about its share
        ((share,),) = _sql(
            env,
            "SELECT (SELECT uniqExact(record_key) FROM rejects) / "
            "((SELECT uniqExact(record_key) FROM rejects) + (SELECT count() FROM current_examinations))",
        )
        assert 0.5 * SimulationConfig.invalid_rate < float(share) < 2 * SimulationConfig.invalid_rate

        history = f"SELECT count() FROM current_examinations WHERE diagnostic_test_date < toDate('{end.date()}')"
        ((before,),) = _sql(env, history)
        again = _dids(env, "up", "--backfill-volume", "10", "--rate", "20", timeout=300)
        assert again.returncode == 0, again.stdout + again.stderr
        assert "backfilled already" in again.stdout
        ((after,),) = _sql(env, history)
        assert after == before  # the history is not doubled; live tests are from its end on
    finally:
        down = _dids(env, "down")
    assert down.returncode == 0, down.stderr
