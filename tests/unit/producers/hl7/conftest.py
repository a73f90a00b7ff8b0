"""Shared fixture: generated lifecycle events to write as HL7 and map back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from producers.generator import SimulationConfig, events


@pytest.fixture(scope="session")
def generated_events() -> list[dict[str, object]]:
    """~200 lifecycle events with every kind of deliberately broken value, cancellations, corrections."""
    config = SimulationConfig(seed=23, providers=3, invalid_rate=0.4, cancelled_rate=0.15, corrected_rate=0.2)
    return list(events(config, now=datetime(2024, 7, 10, tzinfo=UTC), limit=75))
