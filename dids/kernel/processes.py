"""Background processes of the local stack: start detached with a log file, wait until ready, stop.

Used by `dids up/down/status` and by the test session, so both run the parts the same way.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from dids.kernel.errors import DidsError


class ProcessError(DidsError):
    """A background process did not start, died, or did not become ready in time."""


@dataclass
class Background:
    """A process started by us in its own session (so Ctrl-C on the parent does not reach it)."""

    name: str
    pid: int
    log_file: Path
    popen: subprocess.Popen | None = None  # None when found through a pid file

    def alive(self) -> bool:
        if self.popen is not None:
            return self.popen.poll() is None
        return pid_alive(self.pid)

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM, wait, then SIGKILL the whole process group."""
        if not self.alive():
            _reap(self)
            return
        _signal_group(self.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                _reap(self)
                return
            time.sleep(0.1)
        _signal_group(self.pid, signal.SIGKILL)
        _reap(self)

    def kill(self) -> None:
        """SIGKILL at once: what a crash looks like (fault tests)."""
        _signal_group(self.pid, signal.SIGKILL)
        _reap(self)

    def log_tail(self, lines: int = 30) -> str:
        return log_tail(self.log_file, lines)


def spawn(
    name: str,
    argv: Sequence[str],
    log_file: Path,
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    pid_file: Path | None = None,
) -> Background:
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "ab") as log:
        popen = subprocess.Popen(
            list(argv),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
    if pid_file is not None:
        pid_file.parent.mkdir(parents=True, exist_ok=True)
        pid_file.write_text(f"{popen.pid}\n")
    return Background(name=name, pid=popen.pid, log_file=log_file, popen=popen)


def wait_until(
    ready: Callable[[], bool],
    *,
    what: str,
    timeout: float,
    process: Background | None = None,
    interval: float = 0.2,
) -> float:
    """Poll ``ready`` until true; raise with the log tail if the process dies or time runs out.

    Returns the seconds it took.
    """
    start = time.monotonic()
    while True:
        try:
            if ready():
                return time.monotonic() - start
        except Exception:  # not ready yet: connection refused and the like
            pass
        if process is not None and not process.alive():
            raise ProcessError(
                f"{what}: process {process.pid} exited before it was ready; last lines of "
                f"{process.log_file}:\n{process.log_tail()}"
            )
        if time.monotonic() - start > timeout:
            tail = f"; last lines of {process.log_file}:\n{process.log_tail()}" if process else ""
            raise ProcessError(f"{what}: not ready after {timeout:.0f}s{tail}")
        time.sleep(interval)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie is not alive for our purposes
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return True


def read_pid(pid_file: Path) -> int | None:
    try:
        return int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 16384))
            return "\n".join(f.read().decode("utf-8", "replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def _reap(proc: Background) -> None:
    if proc.popen is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.popen.wait(timeout=5)
