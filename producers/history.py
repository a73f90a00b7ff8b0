"""A backfilled history: the simulated departments' examinations over the months before ``end``.

The same generator, mix and waits as the live simulator, with the clock started at 00:00 UTC on the
1st of the month ``months`` before ``end``'s month (so the last complete month and the current one
both have a full 13-month window behind them), and the departments' waiting lists in place then. Each
examination requested before ``end`` is sent once, as it stands at ``end``: the last of its own
lifecycle events before then (performed, reported, corrected, cancelled, or still only requested),
which carries every item the RIS holds. One event per examination instead of its whole lifecycle keeps
the backfill quick; what happens after ``end`` is left to the live traffic.

Each event keeps the event time and received time it had in the lifecycle (received a few seconds
after it happened), and the stream worker takes an event's received time as its submission time, so
the submission-window rules (DIDS049/051/055/066) judge each historical event as sent when it
happened: a test from a year ago is on time, as it was then, rather than a whole history rejected as
too old (DIDS055) for arriving today.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from producers.generator import SimulationConfig, examinations, latest_event

HISTORY_MONTHS = 13  # months before the current one
DAILY_VOLUME = 120.0  # requests a day across the simulated providers (one event each): a quick backfill


def history_start(end: datetime, months: int = HISTORY_MONTHS) -> datetime:
    """00:00 UTC on the 1st of the month ``months`` before ``end``'s month."""
    end = end.astimezone(UTC)
    index = end.year * 12 + end.month - 1 - months
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def history_months(end: datetime, months: int = HISTORY_MONTHS) -> list[str]:
    """The calendar months (YYYY-MM) the history covers, oldest first, ``end``'s month last."""
    first = history_start(end, months)
    index = first.year * 12 + first.month - 1
    return [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(index, index + months + 1)]


def history_config(
    config: SimulationConfig, end: datetime, months: int = HISTORY_MONTHS, daily_volume: float = DAILY_VOLUME
) -> SimulationConfig:
    """``config`` with its clock at the history's start, its present at ``end``, at ``daily_volume``."""
    return replace(config, start=end, clock_start=history_start(end, months), daily_volume=daily_volume)


def history_events(config: SimulationConfig, end: datetime) -> Iterator[dict[str, object]]:
    """Each examination of ``config`` (see ``history_config``) as it stands at ``end``, in the order
    the examinations first showed up."""
    for exam in examinations(config, now=end):
        event = latest_event(exam, config.seed, end)
        if event is None:  # examinations come in the order of their first event: the rest is later
            return
        yield event


def history_days(config: SimulationConfig, end: datetime) -> float:
    """Simulated days from the history's start to ``end`` (the length of a progress bar)."""
    return (end - (config.clock_start or end)) / timedelta(days=1)
