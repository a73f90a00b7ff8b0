"""Start and stop a `dids warehouse` process: used by `dids up` and by the test session.

The warehouse runs as its own process because chDB allows one engine per process and per data
directory: whoever else wants the data talks to it over HTTP. Passwords go to the child through
0600 files named in its environment (never the passwords themselves: a child's environment is
readable in /proc, and neither its command line, which `ps` shows to every user).
"""

from __future__ import annotations

import base64
import json
import os
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import dids
from deploy.warehouse.auth import ADMIN_USER
from dids.kernel.errors import DidsError
from dids.kernel.processes import Background, ProcessError, spawn, wait_until
from dids.kernel.secrets import ADMIN_PASSWORD, secrets_dir, write_secret
from dids.kernel.settings import without_secrets


class WarehouseError(DidsError):
    """The warehouse process did not start, died, or did not answer /ping in time."""


@dataclass
class WarehouseProcess:
    process: Background
    host: str
    port: int
    data_dir: Path

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def log_file(self) -> Path:
        return self.process.log_file

    def alive(self) -> bool:
        return self.process.alive()

    def stop(self, timeout: float = 10) -> None:
        """SIGTERM (the server closes its chDB session), then SIGKILL after ``timeout`` seconds."""
        self.process.stop(timeout=timeout)


def start_warehouse(
    data_dir: Path,
    port: int,
    log_file: Path,
    *,
    host: str = "127.0.0.1",
    admin_password: str,
    analyst_user: str = "analyst",
    analyst_password: str = "analyst",
    linkage_user: str = "linkage",
    linkage_password: str = "",
    database: str | None = None,
    pid_file: Path | None = None,
    timeout: float = 60.0,
) -> WarehouseProcess:
    """Launch `python -m dids warehouse` detached, and return once it answers /ping.

    The passwords are written to 0600 files in ``secrets`` (default: ``secrets/`` beside the data
    directory, which under DIDS_HOME is DIDS_HOME/secrets) and the child reads them from there."""
    if not admin_password:
        raise WarehouseError("the warehouse needs an admin password: an anonymous request would be its admin")
    data_dir = Path(data_dir).resolve()
    folder = secrets_dir(data_dir.parent)
    env = without_secrets(os.environ)
    env.update(
        DIDS_ADMIN_PASSWORD_FILE=str(write_secret(folder / ADMIN_PASSWORD, admin_password)),
        DIDS_ANALYST_USER=analyst_user,
        DIDS_ANALYST_PASSWORD_FILE=str(write_secret(folder / "analyst_password", analyst_password)),
        PYTHONUNBUFFERED="1",
    )
    if linkage_password:  # the linkage account exists only with a password of its own
        env.update(
            DIDS_LINKAGE_USER=linkage_user,
            DIDS_LINKAGE_PASSWORD_FILE=str(write_secret(folder / "linkage_password", linkage_password)),
        )
    if database:
        env["DIDS_CLICKHOUSE_DATABASE"] = database
    # the child imports this checkout even when the project is not installed
    root = str(Path(dids.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    argv = [sys.executable, "-m", "dids", "warehouse", "--data", str(data_dir), "--port", str(port), "--host", host]
    process = spawn("warehouse", argv, log_file, env=env, pid_file=pid_file)
    warehouse = WarehouseProcess(process=process, host=host, port=port, data_dir=data_dir)
    try:
        wait_until(
            lambda: _answers(warehouse, admin_password),
            what=f"warehouse on {warehouse.url}",
            timeout=timeout,
            process=process,
        )
    except ProcessError as exc:
        warehouse.stop(timeout=5)
        raise WarehouseError(f"{exc}\n(data directory {data_dir}; is another process using it or the port?)") from exc
    return warehouse


_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _answers(warehouse: WarehouseProcess, password: str) -> bool:
    """/ping answers, and /health says it is our process (not another one on the same port)."""
    with _NO_PROXY.open(f"{warehouse.url}/ping", timeout=2) as response:
        if response.read() != b"Ok.\n":
            return False
    request = urllib.request.Request(f"{warehouse.url}/health", headers={"Authorization": _basic(ADMIN_USER, password)})
    with _NO_PROXY.open(request, timeout=5) as response:
        return json.loads(response.read()).get("pid") == warehouse.pid


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
