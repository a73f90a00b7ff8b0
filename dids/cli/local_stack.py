"""The local stack behind `dids up / down / status`: broker, warehouse, stream worker, sink, simulator.

Each part is a background process with a log file under ``<home>/logs`` and a pid file under
``<home>/run``, so `dids down` and `dids status` work from another shell.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, fields
from pathlib import Path
from urllib.parse import urlparse

from dids.kernel.errors import ConfigError, DidsError
from dids.kernel.processes import Background, pid_alive, read_pid, spawn, wait_until
from dids.kernel.secrets import ADMIN_PASSWORD, generated_secret, secrets_dir, write_secret
from dids.kernel.settings import SECRET_FIELDS, Settings, secret_file_variable, without_secrets

log = logging.getLogger(__name__)

# start order; `down` stops in reverse
PARTS = ("kafka", "warehouse", "streams", "sink", "simulator")


class StackError(DidsError):
    """The local stack could not be started or inspected."""


@dataclass(frozen=True)
class Layout:
    home: Path

    @property
    def logs(self) -> Path:
        return self.home / "logs"

    @property
    def run(self) -> Path:
        return self.home / "run"

    def log(self, part: str) -> Path:
        return self.logs / f"{part}.log"

    def pid_file(self, part: str) -> Path:
        return self.run / f"{part}.pid"


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment a child process needs to see the same settings, with no secret in it: each
    secret is written to a 0600 file under DIDS_HOME/secrets and the child gets its path."""
    if settings.pseudonymisation_key and settings.pseudonymisation_key_file:
        raise ConfigError(
            "both DIDS_PSEUDONYMISATION_KEY_FILE and DIDS_PSEUDONYMISATION_KEY are set: set only one "
            "(the file is preferred, it keeps the key out of the environment)"
        )
    env = without_secrets(os.environ)
    folder = secrets_dir(settings.home.resolve())
    for f in fields(settings):
        value = getattr(settings, f.name)
        if f.name == "pseudonymisation_key":
            if value:
                env["DIDS_PSEUDONYMISATION_KEY_FILE"] = str(write_secret(folder / f.name, value))
        elif f.name in SECRET_FIELDS:
            if value:
                env[secret_file_variable(f.name)] = str(write_secret(folder / f.name, value))
        elif f.name != "pseudonymisation_key_file" or value:
            env["DIDS_" + f.name.upper()] = str(value)
    return env


def local_accounts(settings: Settings, host: str) -> Settings:
    """The warehouse's accounts: a generated admin password unless one is set; a well-known or empty
    analyst password only on loopback."""
    if not settings.admin_password:
        password, path = generated_secret(settings.home, ADMIN_PASSWORD)
        log.info("admin password of `default`: %s (0600)", path.resolve())
        settings = settings.with_(admin_password=password)
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback and settings.analyst_password in ("", Settings.analyst_password):
        raise ConfigError(
            f"--host {host} is not loopback and the analyst account has the well-known demo password: "
            "set DIDS_ANALYST_PASSWORD (or DIDS_ANALYST_PASSWORD_FILE) first"
        )
    return settings


def kafka_ports(settings: Settings) -> tuple[str, int]:
    host, _, port = settings.kafka_bootstrap.rpartition(":")
    return host or "127.0.0.1", int(port)


def warehouse_address(settings: Settings) -> tuple[str, int]:
    url = urlparse(settings.clickhouse_url)
    return url.hostname or "127.0.0.1", url.port or 8123


def _running(layout: Layout, part: str) -> int | None:
    pid = read_pid(layout.pid_file(part))
    return pid if pid is not None and pid_alive(pid) else None


def _python_dids(*args: str) -> list[str]:
    return [sys.executable, "-m", "dids", *args]


def start_part(settings: Settings, layout: Layout, part: str, *, simulate_args: tuple[str, ...] = ()) -> str:
    """Start one part unless it already runs; wait until it is ready. Returns a status line."""
    if (pid := _running(layout, part)) is not None:
        return f"{part}: already running (pid {pid})"
    env = settings_env(settings)
    if part == "kafka":
        from deploy.local_kafka import start_broker

        _, port = kafka_ports(settings)
        broker = start_broker(
            layout.home.resolve() / "kafka",
            port,
            port + 1,
            layout.log(part),
            pid_file=layout.pid_file(part),
            partitions=settings.topic_partitions,
        )
        return f"kafka: {broker.bootstrap} ready in {broker.startup_seconds:.1f}s"
    if part == "warehouse":
        from deploy.warehouse.process import start_warehouse

        host, port = warehouse_address(settings)
        settings = local_accounts(settings, host)  # the generated admin password, unless one is set
        started = time.monotonic()
        # refuses a port already served by another process, so a stray warehouse is never mistaken for ours
        start_warehouse(
            layout.home.resolve() / "warehouse",
            port,
            layout.log(part),
            host=host,
            admin_password=settings.admin_password,
            analyst_user=settings.analyst_user,
            analyst_password=settings.analyst_password,
            linkage_user=settings.linkage_user,
            linkage_password=settings.linkage_password,
            database=settings.clickhouse_database,
            pid_file=layout.pid_file(part),
        )
        return f"warehouse: {settings.clickhouse_url} ready in {time.monotonic() - started:.1f}s"
    if part == "streams":
        proc = spawn(part, _python_dids("streams"), layout.log(part), env=env, pid_file=layout.pid_file(part))
        took = _wait_metrics(settings.streams_metrics_port, proc)
        return f"streams: worker pid {proc.pid}, metrics :{settings.streams_metrics_port} ({took:.1f}s)"
    if part == "sink":
        proc = spawn(part, _python_dids("sink"), layout.log(part), env=env, pid_file=layout.pid_file(part))
        took = _wait_metrics(settings.sink_metrics_port, proc)
        return f"sink: pid {proc.pid}, metrics :{settings.sink_metrics_port} ({took:.1f}s)"
    if part == "simulator":
        proc = spawn(
            part, _python_dids("simulate", *simulate_args), layout.log(part), env=env, pid_file=layout.pid_file(part)
        )
        return f"simulator: pid {proc.pid} ({' '.join(simulate_args)})"
    raise StackError(f"unknown part {part!r}")


def stop_part(layout: Layout, part: str) -> str:
    pid = _running(layout, part)
    layout.pid_file(part).unlink(missing_ok=True)
    if pid is None:
        return f"{part}: not running"
    Background(part, pid, layout.log(part)).stop(timeout=30)
    return f"{part}: stopped (pid {pid})"


def _wait_metrics(port: int, proc: Background) -> float:
    return wait_until(
        lambda: _http_ok(f"http://127.0.0.1:{port}/metrics"), what=f"{proc.name} metrics", timeout=60, process=proc
    )


def _http_ok(url: str, timeout: float = 2.0) -> bool:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return resp.status == 200


def _ready(url: str, timeout: float = 2.0) -> tuple[bool, str]:
    """A service's /ready: (ready, reason); 503 carries the reason in its JSON body."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status == 200, ""
    except urllib.error.HTTPError as exc:
        return False, json.loads(exc.read() or b"{}").get("reason", f"HTTP {exc.code}")


@dataclass(frozen=True)
class PartStatus:
    part: str
    pid: int | None
    address: str
    healthy: bool
    detail: str = ""


def status(settings: Settings, layout: Layout) -> list[PartStatus]:
    out = []
    for part in PARTS:
        pid = _running(layout, part)
        address, healthy, detail = "", pid is not None, ""
        try:
            if part == "kafka":
                from deploy.local_kafka import broker_ready

                address = settings.kafka_bootstrap
                healthy = broker_ready(settings.kafka_bootstrap, timeout=2)
            elif part == "warehouse":
                address = settings.clickhouse_url
                healthy = _http_ok(settings.clickhouse_url.rstrip("/") + "/ping")
            elif part in ("streams", "sink"):
                port = settings.streams_metrics_port if part == "streams" else settings.sink_metrics_port
                address = f"http://127.0.0.1:{port}/metrics"
                healthy, detail = _ready(f"http://127.0.0.1:{port}/ready") if pid is not None else (False, "")
            elif part == "simulator":
                detail = "" if pid else "(not running: start with `dids up --simulate` or `dids simulate`)"
        except Exception as exc:
            healthy, detail = False, str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        out.append(PartStatus(part, pid, address, healthy, detail))
    return out


def table_counts(settings: Settings) -> dict[str, int]:
    from sinks.clickhouse import connect

    client = connect(settings)
    db = settings.clickhouse_database
    counts = {}
    for name, sql in {
        "examinations (rows, all versions)": f"SELECT count() FROM {db}.examinations",
        "examinations (current, active)": f"SELECT count() FROM {db}.examinations FINAL WHERE status = 'active'",
        "rejects": f"SELECT count() FROM {db}.rejects",
    }.items():
        counts[name] = int(client.command(sql))
    return counts


def topic_counts(settings: Settings) -> dict[str, int]:
    """Messages in each topic (sum of high watermarks minus low)."""
    from confluent_kafka import Consumer, TopicPartition

    from dids.kernel.kafka import client_config
    from dids.kernel.topics import topic_specs

    consumer = Consumer(client_config(settings, **{"group.id": "dids-status"}))
    try:
        md = consumer.list_topics(timeout=5)
        out = {}
        for spec in topic_specs():
            name = settings.topic(spec.name)
            if name not in md.topics:
                continue
            total = 0
            for p in md.topics[name].partitions:
                low, high = consumer.get_watermark_offsets(TopicPartition(name, p), timeout=5)
                total += high - low
            out[name] = total
        return out
    finally:
        consumer.close()
