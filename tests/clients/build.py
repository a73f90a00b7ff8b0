"""Fetch and build the real ClickHouse clients of the matrix (tests/integration/test_warehouse_clients.py),
each the ordinary way, cached under .cache/clients/ and rebuilt only when its pinned inputs change:

* the JDBC driver: Maven (``dependency:copy-dependencies`` of tests/clients/jdbc/pom.xml), then the
  check program runs as a single-file Java source against those jars;
* clickhouse-go: the Go module proxy (tests/clients/go/go.mod and go.sum), ``go build`` (the program
  under .cache/clients/, modules and build cache in Go's own caches);
* @clickhouse/client: npm (``npm ci`` of tests/clients/js/package-lock.json).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
CACHE = HERE.parents[1] / ".cache" / "clients"


class BuildError(RuntimeError):
    """A client could not be fetched or built."""


def _stamp(*files: Path) -> str:
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def _run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
    tool = shutil.which(cmd[0])
    if tool is None:
        raise BuildError(f"{cmd[0]} is not on PATH: .ci/run installs it (see its package list)")
    result = subprocess.run([tool, *cmd[1:]], cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    if result.returncode != 0:
        output = (result.stdout + result.stderr)[-3000:]
        raise BuildError(f"{' '.join(cmd)} failed (exit {result.returncode}):\n{output}")


def _cached(name: str, stamp: str) -> tuple[Path, bool]:
    """(folder for this build, whether it is already complete)."""
    folder = CACHE / name / stamp
    return folder, (folder / ".done").exists()


def jdbc() -> tuple[str, Path]:
    """(classpath of the driver's jars, the check program's source)."""
    pom = HERE / "jdbc" / "pom.xml"
    folder, done = _cached("jdbc", _stamp(pom))
    if not done:
        shutil.rmtree(folder, ignore_errors=True)
        _run(
            [
                "mvn",
                "-B",
                "-q",
                "--strict-checksums",
                "-f",
                str(pom),
                "dependency:copy-dependencies",
                f"-DoutputDirectory={folder / 'libs'}",
                "-DincludeScope=runtime",
            ],
            HERE,
        )
        (folder / ".done").touch()
    return str(folder / "libs" / "*"), HERE / "jdbc" / "JdbcCheck.java"


def go() -> Path:
    """The built clickhouse-go check program."""
    src = HERE / "go"
    folder, done = _cached("go", _stamp(src / "go.mod", src / "go.sum", src / "main.go"))
    binary = folder / "gocheck"
    if not done:
        env = dict(os.environ)
        # modules and compiled packages go to Go's own caches (like Maven's ~/.m2): kept by the machine
        # across checkouts, so a CI run in a fresh clone builds in seconds once the machine has built it
        env.update(GOFLAGS="-mod=readonly", GOTOOLCHAIN="local")
        _run(["go", "build", "-o", str(binary), "."], src, env)
        (folder / ".done").touch()
    return binary


def js() -> Path:
    """The folder where ``node check.mjs`` runs with @clickhouse/client installed."""
    src = HERE / "js"
    files = [src / "package.json", src / "package-lock.json", src / "check.mjs"]
    folder, done = _cached("js", _stamp(*files))
    if not done:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for path in files:
            shutil.copy(path, folder / path.name)
        _run(["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"], folder)
        (folder / ".done").touch()
    return folder
