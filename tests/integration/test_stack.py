"""`dids up / status / down` as a user runs them: the whole local stack as background processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

from dids.kernel.ports import free_port
from dids.kernel.processes import pid_alive, read_pid


def _free_pair() -> int:
    """A free port whose successor is free too (the broker's controller uses port + 1)."""
    for _ in range(50):
        p = free_port()
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", p + 1))
            except OSError:
                continue
        return p
    raise RuntimeError("no free port pair")


def stack_env(home) -> dict[str, str]:
    """The environment of a private `dids up` in ``home``: every port free, so it never meets another."""
    return dict(
        os.environ,
        DIDS_HOME=str(home),
        DIDS_KAFKA_BOOTSTRAP=f"127.0.0.1:{_free_pair()}",
        DIDS_CLICKHOUSE_URL=f"http://127.0.0.1:{free_port()}",
        DIDS_STREAMS_METRICS_PORT=str(free_port()),
        DIDS_SINK_METRICS_PORT=str(free_port()),
        DIDS_PRODUCER_METRICS_PORT=str(free_port()),
        DIDS_SINK_BATCH_SECONDS="0.5",
    )


def _dids(env, *args, timeout=180) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dids", *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def test_up_status_simulate_query_down(tmp_path):
    home = tmp_path / "home"
    env = stack_env(home)
    try:
        up = _dids(env, "up", "--no-simulate")
        assert up.returncode == 0, up.stdout + up.stderr
        for part in ("kafka", "warehouse", "streams", "sink"):
            assert f"{part}:" in up.stdout
            assert pid_alive(read_pid(home / "run" / f"{part}.pid"))

        sim = _dids(env, "simulate", "--count", "500", "--mode", "records", "--seed", "3")
        assert sim.returncode == 0, sim.stdout + sim.stderr
        assert "published 500 events" in sim.stdout

        deadline, count = time.monotonic() + 120, None
        while time.monotonic() < deadline:
            # every record is either current and active, or rejected with its rule codes
            q = _dids(
                env,
                "sql",
                "SELECT (SELECT count() FROM examinations FINAL WHERE status = 'active') + "
                "(SELECT count() FROM rejects)",
                "--format",
                "csv",
            )
            count = q.stdout.strip().splitlines()[-1] if q.returncode == 0 else q.stderr
            if count == "500":
                break
            time.sleep(1)
        assert count == "500"

        status = _dids(env, "status")
        assert status.returncode == 0, status.stderr
        for part in ("kafka", "warehouse", "streams", "sink"):
            line = next(line for line in status.stdout.splitlines() if f" {part} " in line)
            assert " up " in line, status.stdout
        assert "rejects" in status.stdout and "examinations (current, active)" in status.stdout
    finally:
        down = _dids(env, "down")
    assert down.returncode == 0, down.stderr
    for part in ("kafka", "warehouse", "streams", "sink"):
        assert f"{part}: stopped" in down.stdout
        assert not (home / "run" / f"{part}.pid").exists()
