"""promtool (Prometheus's config and rule checker) for the alert-rule tests, in a git-ignored cache.

Debian's ``prometheus`` package ships /usr/bin/promtool. Installing the package would also install and
start a Prometheus service, so the .deb is only downloaded (``apt-get download``) and unpacked
(``dpkg-deb -x``), and promtool alone is kept in ``.cache/promtool/``, once.

``python -m deploy.promtool`` prints its path; ``python -m deploy.promtool ARGS...`` runs it with ARGS.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from dids.kernel.errors import DidsError

DEFAULT_CACHE = Path(__file__).resolve().parents[1] / ".cache" / "promtool"
PACKAGE = "prometheus"  # Debian bookworm: 2.42


class PromtoolError(DidsError):
    """promtool could not be fetched."""


def promtool_cache_dir() -> Path:
    return Path(os.environ.get("DIDS_PROMTOOL_CACHE", DEFAULT_CACHE))


def ensure_promtool(cache: Path | None = None, *, quiet: bool = False) -> Path:
    """Return the path of a working promtool, fetching it from Debian's package the first time."""
    binary = (cache or promtool_cache_dir()) / "promtool"
    if binary.exists():
        return binary
    missing = [tool for tool in ("apt-get", "dpkg-deb") if shutil.which(tool) is None]
    if missing:
        raise PromtoolError(
            f"{' and '.join(missing)} not found: this fetches promtool from Debian's '{PACKAGE}' package. "
            f"Elsewhere, put a promtool (from any Prometheus 2.x/3.x release) at {binary}"
        )
    if not quiet:
        print(f"Fetching promtool from Debian's '{PACKAGE}' package into {binary} (once) ...", file=sys.stderr)
    binary.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=binary.parent) as tmp:
        work = Path(tmp)
        download = ["apt-get", "download", "-q", "-o", "APT::Sandbox::User=root", PACKAGE]
        result = _run(download, work)
        if result.returncode != 0 and os.geteuid() == 0:  # no or stale package lists: refresh once, retry
            _run(["apt-get", "update", "-q"], work)
            result = _run(download, work)
        debs = list(work.glob(f"{PACKAGE}_*.deb"))
        if result.returncode != 0 or not debs:
            raise PromtoolError(
                f"`{' '.join(download)}` failed (exit {result.returncode}):\n{_tail(result)}\n"
                "Run `apt-get update` as root and try again, or put a promtool binary at "
                f"{binary}"
            )
        unpack = _run(["dpkg-deb", "-x", str(debs[0]), "root"], work)
        extracted = work / "root" / "usr" / "bin" / "promtool"
        if unpack.returncode != 0 or not extracted.exists():
            raise PromtoolError(f"unpacking {debs[0].name} gave no usr/bin/promtool:\n{_tail(unpack)}")
        check = _run([str(extracted), "--version"], work)
        if check.returncode != 0:
            raise PromtoolError(f"the unpacked promtool does not run:\n{_tail(check)}")
        extracted.replace(binary)  # same filesystem: an atomic rename, so a half-written binary is never seen
    return binary


def _run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)


def _tail(result: subprocess.CompletedProcess) -> str:
    return (result.stdout + result.stderr)[-2000:].strip()


def main(argv: list[str]) -> int:
    try:
        binary = ensure_promtool()
    except PromtoolError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not argv:
        print(binary)
        return 0
    return subprocess.run([str(binary), *argv]).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
