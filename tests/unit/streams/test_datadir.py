"""Each stream worker takes its own data directory: RocksDB lets one process open a table database."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from streams.runtime import datadir


def _holder(base):
    """A separate process that claims a slot, says which, and keeps it until killed."""
    code = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from streams.runtime.datadir import claim
        print(claim(Path({str(base)!r})).name, flush=True)
        time.sleep(60)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    return proc, proc.stdout.readline().strip()


def test_workers_sharing_a_home_get_different_slots_and_a_restarted_one_gets_its_own_back(tmp_path):
    first, slot_a = _holder(tmp_path)
    second, slot_b = _holder(tmp_path)
    try:
        assert (slot_a, slot_b) == ("worker-0", "worker-1")
        first.kill()  # kill -9: the kernel drops the lock with the process
        first.wait()
        restarted, slot_c = _holder(tmp_path)
        restarted.kill()
        restarted.wait()
        assert slot_c == "worker-0"
        assert (tmp_path / "worker-0").is_dir()
    finally:
        second.kill()
        second.wait()


def test_slots_in_one_process_are_distinct_until_released(tmp_path):
    try:
        assert datadir.claim(tmp_path).name == "worker-0"
        assert datadir.claim(tmp_path).name == "worker-1"
    finally:
        datadir.release_all()
    assert datadir.claim(tmp_path).name == "worker-0"
    datadir.release_all()
