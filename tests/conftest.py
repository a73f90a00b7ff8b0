"""Session fixtures: one real Kafka broker and one real ClickHouse engine (the embedded warehouse),
started on free loopback ports with their own data directories; factories hand out unique topic
prefixes and databases per test so tests never see each other's data (a module's read-only tests may
share one seeded database: ``module_settings_factory``)."""

from __future__ import annotations

import functools
import itertools
import secrets
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from dids.kernel.ports import free_port
from dids.kernel.processes import Background, spawn, wait_until
from dids.kernel.settings import Settings

_counter = itertools.count(1)
# the session broker's SASL/PLAIN listener takes this login (tests of the DIDS_KAFKA_SASL_* settings)
SASL_USER, SASL_PASSWORD = "dids-test", "dids-test-secret"
# the session warehouse's admin (`default`) password: no account logs in without one
WAREHOUSE_ADMIN_PASSWORD = secrets.token_urlsafe(16)


@pytest.fixture(scope="session")
def broker(tmp_path_factory):
    from deploy.local_kafka import start_broker

    d = tmp_path_factory.mktemp("kafka")
    b = start_broker(
        d, free_port(), free_port(), d / "broker.log", sasl_port=free_port(), sasl_users={SASL_USER: SASL_PASSWORD}
    )
    print(f"\nKafka broker {b.bootstrap} ready in {b.startup_seconds:.1f}s (log {d / 'broker.log'})")
    yield b
    b.stop()


@pytest.fixture(scope="session")
def warehouse(tmp_path_factory):
    from deploy.warehouse.process import start_warehouse

    d = tmp_path_factory.mktemp("warehouse")
    w = start_warehouse(d / "data", free_port(), d / "warehouse.log", admin_password=WAREHOUSE_ADMIN_PASSWORD)
    yield w
    w.stop()


def _settings(broker, warehouse, root: Path, **overrides) -> Settings:
    n = next(_counter)
    tag = f"t{n}_{uuid.uuid4().hex[:6]}"
    base = Settings(
        home=root / tag,
        kafka_bootstrap=broker.bootstrap,
        topic_prefix=f"{tag}.",
        clickhouse_url=warehouse.url,
        clickhouse_database=f"dids_{tag}",
        clickhouse_password=WAREHOUSE_ADMIN_PASSWORD,
        streams_app_id=f"dids-streams-{tag}",
        sink_group=f"dids-sink-{tag}",
        streams_metrics_port=free_port(),
        sink_metrics_port=free_port(),
        producer_metrics_port=0,
        sink_batch_seconds=0.5,
        demo=1,  # the well-known demo pseudonymisation key and the shipped sample reference data
    )
    return base.with_(**overrides)


@pytest.fixture
def settings_factory(broker, warehouse, tmp_path):
    """Settings for one isolated pipeline: own topic prefix, database, consumer groups and home."""
    return functools.partial(_settings, broker, warehouse, tmp_path)


@pytest.fixture(scope="module")
def module_settings_factory(broker, warehouse, tmp_path_factory):
    """The same for a module-scoped fixture: a database migrated and seeded once for the tests of a
    module that only read it (a migration takes seconds; a test that writes gets its own)."""
    return functools.partial(_settings, broker, warehouse, tmp_path_factory.mktemp("module"))


@pytest.fixture
def service_factory(tmp_path) -> Iterator:
    """Start `dids <command>` as a real subprocess with the given settings; stopped after the test."""
    from dids.cli.local_stack import settings_env

    started: list[Background] = []

    def start(settings: Settings, *args: str, ready_port: int | None = None) -> Background:
        log = tmp_path / f"{args[0]}-{len(started)}.log"
        env = settings_env(settings)
        proc = spawn(args[0], [sys.executable, "-m", "dids", *args], log, env=env)
        started.append(proc)
        if ready_port:
            import urllib.request

            wait_until(
                lambda: urllib.request.urlopen(f"http://127.0.0.1:{ready_port}/metrics", timeout=2),
                what=f"dids {args[0]}",
                timeout=90,
                process=proc,
            )
        return proc

    yield start
    # SIGKILL: the test is over and its topics, groups and database are its own, so nothing needs a
    # graceful stop (a Faust worker's alone takes 1.5 s); tests that stop a service gracefully do it
    # themselves and assert on the outcome
    for proc in reversed(started):
        if proc.alive():  # (one already stopped and reaped may have handed its pid on)
            proc.kill()


def pytest_collection_modifyitems(items):
    # tests using the broker or warehouse are integration tests
    for item in items:
        if {"broker", "warehouse", "settings_factory"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)


def read_log(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""
