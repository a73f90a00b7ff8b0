"""A pure, seeded generator of realistic RIS examination events: no Kafka, no I/O, no wall clock.

Three views of the same simulated radiology departments:

* ``examinations(config, now)``: examinations in the order they first show in the stream, each with
  its lifecycle timeline (requested, performed, reported; sometimes cancelled or corrected).
* ``events(config, now)``: those lifecycle events interleaved across examinations in event-time
  order, as dicts with exactly the fields of ``schemas/avro/examination_event.v1.avsc`` plus the v2
  item ``coded_procedure_start_timestamp`` (the test's time, from the providers in
  ``catalogue.TIMED_PROVIDERS``). Each event carries every item as the RIS knows it at that moment.
* ``records(config, n, now)``: ``n`` final-state records of the 18 items, as a monthly extract sent at
  ``now`` would carry them (performed examinations only; reports issued after ``now`` are blank).

Time model: ``now`` is the simulated present (default ``config.start``, the present the simulation
starts at; nothing reads the wall clock). The stream's clock starts at ``config.clock_start``, by
default 00:00 UTC on the 1st of the month two months before ``now``; requests arrive as a Poisson
stream of ``config.daily_volume`` a day on average, shaped by ``rhythm`` (weekdays, opening hours,
season), so tests fall in the current and previous two months of ``now`` while the clock is within
that window (an unbounded stream keeps running past ``now``, and every event's received time stays
a few seconds after its event time, so the submission-window rules see each event as on time
whenever it happened). The extract's tests are spread over the same window, ending at ``now``.
Nothing here paces output: the caller decides how fast to consume it.

The department is already running when the clock starts: its waiting list then (requests made up to
``LEAD_IN_DAYS`` before, tested or cancelled after the start) joins the stream, each examination from
its first event after the start. Without it a stream's first weeks would hold only the examinations
done on the day they were asked for, and every wait would read 0 days.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid5

from dids.kernel.errors import DidsError
from dids.kernel.timestamps import UK_CLOCK
from producers.breakage import DEFAULT_BREAK_RULES, SUPPORTED_RULES
from producers.builder import MS_PER_DAY, ExaminationBuilder, day_ms
from producers.catalogue import PROVIDERS, TIMED_PROVIDERS, Provider
from producers.record import EPOCH_ORDINAL, ITEM_FIELDS, Examination

__all__ = [
    "EVENT_FIELDS",
    "ITEM_FIELDS",
    "Examination",
    "SimulationConfig",
    "SimulationConfigError",
    "clock_start",
    "events",
    "examinations",
    "extract_examinations",
    "latest_event",
    "providers_for",
    "records",
    "window_start",
]

START_TIMESTAMP = "coded_procedure_start_timestamp"  # the DIDS v2 item: when the test started
EVENT_FIELDS: tuple[str, ...] = (
    "event_id",
    "event_type",
    "event_time",
    "received_time",
    "source",
    "submission_id",
    "submitter_org",
    "row_number",
    *ITEM_FIELDS,
    START_TIMESTAMP,
)
_TIMED_EVENTS = frozenset({"performed", "reported", "corrected"})  # the events that carry the test date
_EVENT_NAMESPACE = UUID("5b0c3a52-6f0e-5d7e-9a8e-1d1d5c0d1d50")  # fixed: event ids never change
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DAILY_VOLUME_PER_PROVIDER = 1000  # a large acute trust: ~20-40k records a month (SPEC §8.7)
LEAD_IN_DAYS = 306  # the longest wait (300 days) and weekend move (6): the whole waiting list at the start
_RECENT_DAYS = 2  # requests this close to the start are drawn one by one (acute next-day work among them)


class SimulationConfigError(DidsError, ValueError):
    """A simulation setting is out of range; the message names it."""


@dataclass(frozen=True)
class SimulationConfig:
    seed: int = 0
    providers: int = 3  # the first K of ``catalogue.PROVIDERS``
    start: datetime | None = None  # the simulated present the simulation starts at: default ``now``
    invalid_rate: float = 0.02  # share of examinations broken against one rule of ``break_rules``
    cancelled_rate: float = 0.02  # streams only: an extract carries performed examinations
    corrected_rate: float = 0.03
    break_rules: tuple[str, ...] | None = None  # None: ``breakage.DEFAULT_BREAK_RULES``
    restricted_rate: float = 0.0  # share of restricted fertility procedures (SPEC §7.8), e.g. 0.001
    daily_volume: float | None = None  # requests per simulated day; default 1000 per provider
    clock_start: datetime | None = None  # when the stream's clock starts: default ``window_start(now)``

    def __post_init__(self) -> None:
        if not 1 <= self.providers <= len(PROVIDERS):
            raise SimulationConfigError(f"providers must be 1..{len(PROVIDERS)}, got {self.providers}")
        for name in ("invalid_rate", "cancelled_rate", "corrected_rate", "restricted_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise SimulationConfigError(f"{name} must be between 0 and 1, got {value}")
        if self.break_rules is not None:
            unknown = sorted(set(self.break_rules) - set(SUPPORTED_RULES))
            if unknown or not self.break_rules:
                raise SimulationConfigError(
                    f"break_rules: cannot break {unknown or 'an empty list'}; supported: {', '.join(SUPPORTED_RULES)}"
                )
        if self.daily_volume is not None and self.daily_volume <= 0:
            raise SimulationConfigError(f"daily_volume must be positive, got {self.daily_volume}")
        for name in ("start", "clock_start"):
            if getattr(self, name) is not None:
                _utc(getattr(self, name), name)

    @property
    def rules_to_break(self) -> tuple[str, ...]:
        return DEFAULT_BREAK_RULES if self.break_rules is None else tuple(self.break_rules)

    @property
    def requests_per_day(self) -> float:
        return self.daily_volume or _DAILY_VOLUME_PER_PROVIDER * self.providers


def providers_for(config: SimulationConfig) -> tuple[Provider, ...]:
    """The providers (with their sites) a simulation draws from."""
    return PROVIDERS[: config.providers]


def window_start(now: datetime) -> datetime:
    """00:00 UTC on the 1st of the month two months before ``now``'s month."""
    now = _utc(now, "now")
    months = now.year * 12 + now.month - 1 - 2
    return datetime(months // 12, months % 12 + 1, 1, tzinfo=UTC)


def clock_start(config: SimulationConfig, now: datetime | None = None) -> datetime:
    """When the stream's clock starts: ``config.clock_start``, else the window start of ``now``."""
    if config.clock_start is not None:
        return _utc(config.clock_start, "clock_start")
    return window_start(_present(config, now))


def examinations(
    config: SimulationConfig, now: datetime | None = None, limit: int | None = None
) -> Iterator[Examination]:
    """Examinations in the order of their first event from the clock start: the waiting list at the
    start merged with the requests received since; unbounded unless ``limit`` is given."""
    start_ms = _ms(clock_start(config, now))
    start_day = EPOCH_ORDINAL + start_ms // MS_PER_DAY
    builder = ExaminationBuilder(config, first_day=start_day - LEAD_IN_DAYS)
    arrivals = builder.arrivals(day_ms(start_day - _RECENT_DAYS), config.requests_per_day)
    waiting, (day, arrival_ms) = _waiting_list(builder, arrivals, start_ms, config.requests_per_day)
    index = next_waiting = 0
    while limit is None or index < limit:
        if next_waiting < len(waiting) and waiting[next_waiting].timeline[0][1] <= arrival_ms:
            yield replace(waiting[next_waiting], index=index)
            next_waiting += 1
        else:
            yield builder.build(index, day, arrival_ms)
            day, arrival_ms = next(arrivals)
        index += 1


def _waiting_list(
    builder: ExaminationBuilder, arrivals, start_ms: int, daily_volume: float
) -> tuple[list[Examination], tuple[int, int]]:
    """Examinations requested before ``start_ms`` and performed or cancelled after it, in the order of
    their first event from then on; and the first request at or after the start.

    The last ``_RECENT_DAYS`` days' requests are drawn one by one as the stream would; older ones
    can only still be waiting with a long wait, and ``long_waits`` draws just those.
    """
    start_day = EPOCH_ORDINAL + start_ms // MS_PER_DAY
    pending = []
    for day, arrival_ms in arrivals:
        if arrival_ms >= start_ms:
            first_after = (day, arrival_ms)
            break
        plan = builder.plan(day)
        if builder.test_of(plan, day) >= start_day:  # cancellations come before the test, so earlier
            pending.append((day, arrival_ms, plan))
    pending += builder.long_waits(start_day, daily_volume, range(_RECENT_DAYS + 1, LEAD_IN_DAYS + 1))
    pending.sort(key=lambda p: p[1])  # accession numbers in request order
    waiting = []
    for day, arrival_ms, plan in pending:
        exam = builder.build(-1, day, arrival_ms, plan=plan)
        kept = tuple(step for step in exam.timeline if step[1] >= start_ms)
        if kept and kept[0][0] in ("performed", "cancelled"):  # not done before the start
            waiting.append(replace(exam, timeline=kept, skipped=len(exam.timeline) - len(kept)))
    waiting.sort(key=lambda exam: exam.timeline[0][1])
    return waiting, first_after


def extract_examinations(config: SimulationConfig, n: int, now: datetime | None = None) -> Iterator[Examination]:
    """``n`` performed examinations with tests from the window start to ``now``, as at ``now``."""
    now = _present(config, now)
    first, last = window_start(now).date().toordinal(), now.date().toordinal()
    builder = ExaminationBuilder(config, first_day=first)
    for index in range(n):
        yield builder.build(index, builder.test_day(first, last), now_day=last)


def records(config: SimulationConfig, n: int, now: datetime | None = None) -> Iterator[dict[str, str | None]]:
    """``n`` final-state records (the 18 items, national column order), as a monthly extract."""
    for exam in extract_examinations(config, n, now):
        yield exam.record()


def events(
    config: SimulationConfig, now: datetime | None = None, limit: int | None = None
) -> Iterator[dict[str, object]]:
    """Lifecycle events of ``examinations(config, now, limit)`` in event-time order.

    Examinations come in the order of their first event and every later event of an examination
    comes after its first, so a heap of pending events can be released up to each new first event.
    """
    pending: list[tuple[int, int, int, Examination]] = []
    seed = config.seed
    for exam in examinations(config, now, limit):
        first_ms = exam.timeline[0][1]
        while pending and pending[0][0] <= first_ms:
            _, _, seq, done = heapq.heappop(pending)
            yield _event(done, seq, seed)
        for seq, (_, event_ms, _) in enumerate(exam.timeline):
            heapq.heappush(pending, (event_ms, exam.index, seq, exam))
    while pending:
        _, _, seq, done = heapq.heappop(pending)
        yield _event(done, seq, seed)


def latest_event(exam: Examination, seed: int, before: datetime) -> dict[str, object] | None:
    """The examination's last lifecycle event before ``before`` (what the RIS holds of it then), as
    ``events`` gives it; None when nothing has happened by then."""
    before_ms = _ms(_utc(before, "before"))
    done = [seq for seq, (_, event_ms, _) in enumerate(exam.timeline) if event_ms < before_ms]
    return _event(exam, done[-1], seed) if done else None


def _event(exam: Examination, seq: int, seed: int) -> dict[str, object]:
    event_type, event_ms, received_ms = exam.timeline[seq]
    step = seq + exam.skipped  # the place in the whole lifecycle: an id never depends on the clock start
    event: dict[str, object] = {
        "event_id": str(uuid5(_EVENT_NAMESPACE, f"{seed}|{exam.site}|{exam.accession}|{step}")),
        "event_type": event_type,
        "event_time": _EPOCH + timedelta(milliseconds=event_ms),
        "received_time": _EPOCH + timedelta(milliseconds=received_ms),
        "source": "simulator",
        "submission_id": None,
        "submitter_org": None,
        "row_number": None,
    }
    event.update(exam.items_at(seq))
    event[START_TIMESTAMP] = _start_timestamp(exam, event_type)
    return event


def _start_timestamp(exam: Examination, event_type: str) -> str | None:
    """The test's start as a v2 timestamp (UK local clock) on the events that carry the test date, for
    the providers in ``TIMED_PROVIDERS``; None for the others (date only)."""
    if exam.provider not in TIMED_PROVIDERS or event_type not in _TIMED_EVENTS:
        return None
    performed = next((ms for kind, ms, _ in exam.timeline if kind == "performed"), None)
    if performed is None:
        return None
    local = (_EPOCH + timedelta(milliseconds=performed)).astimezone(UK_CLOCK)
    return local.strftime("%Y-%m-%dT%H:%M:%S") + ("+01:00" if local.utcoffset() else "+00:00")


def _ms(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def _present(config: SimulationConfig, now: datetime | None) -> datetime:
    if now is None:
        if config.start is None:
            raise SimulationConfigError("no simulated present: pass now= or set SimulationConfig(start=...)")
        now = config.start
    return _utc(now, "now")


def _utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise SimulationConfigError(f"{name} must be timezone-aware, got {value.isoformat()}")
    return value.astimezone(UTC)
