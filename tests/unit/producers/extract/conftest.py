"""Shared fixtures: a fixed simulated present, generated records, and a helper writing raw bytes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from producers.generator import SimulationConfig, records

NOW = datetime(2024, 7, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture(scope="session")
def generated() -> list[dict[str, str | None]]:
    """1,000 generated records, some deliberately broken (values of every kind, blanks included)."""
    return list(records(SimulationConfig(seed=11, providers=3, invalid_rate=0.2), 1000, NOW))


@pytest.fixture
def write_bytes(tmp_path):
    """Write ``data`` to a file named ``name`` under tmp_path and return its path."""

    def write(name: str, data: bytes):
        path = tmp_path / name
        path.write_bytes(data)
        return path

    return write


@pytest.fixture(autouse=True)
def no_reference_data_setting(monkeypatch):
    """`dids validate` reads DIDS_REFDATA_DIR: tests start without it, whatever the shell has."""
    monkeypatch.delenv("DIDS_REFDATA_DIR", raising=False)
