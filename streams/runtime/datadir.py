"""Each stream worker's own Faust data directory (its RocksDB lifecycle table lives there).

RocksDB lets one process open a database, and Faust keeps one per partition under its data
directory, so workers sharing DIDS_HOME (several on one host, or scaled containers on one volume)
need a directory each. A worker takes the first ``worker-N`` slot no live worker holds, by an
exclusive ``flock`` kept for the process's life. The kernel drops the lock when the process ends,
even on kill -9, so a restarted worker takes its slot back and finds its table there: recovery
then only replays the changelog written since that table's last commit.
"""

from __future__ import annotations

import fcntl
import itertools
from pathlib import Path
from typing import IO

_held: list[IO[str]] = []  # lock files kept open (and so locked) until the process exits


def claim(base: Path, limit: int = 64) -> Path:
    """Return ``base/worker-N`` for the lowest N whose lock is free, holding that lock from now on."""
    base.mkdir(parents=True, exist_ok=True)
    for slot in itertools.islice(itertools.count(), limit):
        lock = open(base / f"worker-{slot}.lock", "w")  # noqa: SIM115 -- held open on purpose
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            continue
        _held.append(lock)
        path = base / f"worker-{slot}"
        path.mkdir(exist_ok=True)
        return path
    raise RuntimeError(f"{limit} stream workers already hold a data directory under {base}")


def release_all() -> None:
    """Give the slots back (tests that claim several in one process)."""
    while _held:
        _held.pop().close()
