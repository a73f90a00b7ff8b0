"""The simulated history `dids up` backfills once per DIDS_HOME, through the real pipeline.

13 months of simulated examinations (``producers.history``: one event each, as it stands at the end
of the history) are published to Kafka as fast as it takes them; the stream worker judges them and the
sink writes them, exactly as live traffic, and `dids up` waits, with a progress bar, until the sink
has written everything the worker made of them. A marker file (``DIDS_HOME/backfill.json``) says it
is done, so a second `dids up` does not double the history; it also gives the history's end, where
the live simulator's clock then starts. The marker is written as ``started`` before the first event:
an interrupted backfill is published again with the same end, so its events are the same and the
worker sees the ones it has as duplicates.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from dids.kernel.errors import DidsError
from dids.kernel.settings import Settings

MARKER = "backfill.json"
_STALL_SECONDS = 300  # no progress in the pipeline for this long: something is wrong, say so
_RESTARTS = 3  # a worker's liveness guard exits it to be restarted; `dids up` has no supervisor, so here
# how far the backfill may run ahead of the worker: a few seconds of its work. A worker handed the whole
# history at once stalled and exited on 2 busy cores (faust-streaming, streams/runtime/watchdog.py)
_AHEAD = 3000


class BackfillError(DidsError):
    """The history could not be backfilled."""


def marker_path(home: Path) -> Path:
    return home / MARKER


def read_marker(home: Path) -> dict | None:
    try:
        return json.loads(marker_path(home).read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise BackfillError(f"{marker_path(home)} is unreadable ({exc}): remove it to backfill again") from exc


def write_marker(home: Path, **fields) -> None:
    path = marker_path(home)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(fields, indent=2) + "\n")
    os.replace(tmp, path)  # never a half-written marker


def history_end(home: Path) -> datetime | None:
    """Where a finished backfill's history ends (the live simulator starts there), else None."""
    marker = read_marker(home)
    if not marker or marker.get("status") != "done":
        return None
    return datetime.fromisoformat(marker["end"])


def planned_end(home: Path, now: datetime) -> datetime | None:
    """The end to backfill to: None when done already; an interrupted backfill's own end; else ``now``."""
    marker = read_marker(home)
    if marker is None:
        return now
    if marker.get("status") == "done":
        return None
    return datetime.fromisoformat(marker["end"])


@dataclass(frozen=True)
class Offsets:
    """Where the pipeline is: source events published and judged, outputs made and written."""

    published: int
    judged: int
    made: int
    written: int


class PipelineWatch:
    """Committed offsets of the stream worker's and the sink's consumer groups against the topics'
    ends: the worker has judged every event when its group has committed them all, and the sink has
    written every record when its group has (it commits only once ClickHouse has acknowledged)."""

    def __init__(self, settings: Settings) -> None:
        from confluent_kafka import Consumer

        from dids.kernel import topics
        from dids.kernel.kafka import client_config

        def group(name: str):
            return Consumer(client_config(settings, **{"group.id": name, "enable.auto.commit": False}))

        self._streams, self._sink = group(settings.streams_app_id), group(settings.sink_group)
        self._source = [settings.topic(topics.RIS_EVENTS)]
        self._outputs = [settings.topic(topics.EXAMINATIONS), settings.topic(topics.REJECTS)]

    def offsets(self) -> Offsets:
        published, judged = self._progress(self._streams, self._source)
        made, written = self._progress(self._sink, self._outputs)
        return Offsets(published, judged, made, written)

    @staticmethod
    def _progress(consumer, names: list[str]) -> tuple[int, int]:
        """(sum of the topics' end offsets, sum of the group's committed offsets, at least the start)."""
        from confluent_kafka import TopicPartition

        metadata = consumer.list_topics(timeout=10)
        partitions = [TopicPartition(n, p) for n in names for p in metadata.topics[n].partitions]
        ends = done = 0
        for tp in consumer.committed(partitions, timeout=10):
            low, high = consumer.get_watermark_offsets(TopicPartition(tp.topic, tp.partition), timeout=10)
            ends += high
            done += max(tp.offset, low)
        return ends, done

    def close(self) -> None:
        self._streams.close()
        self._sink.close()


def run(settings: Settings, layout, *, seed: int, providers: int, daily_volume: float) -> str | None:
    """Backfill the history unless done already for this home; returns a status line, None if done."""
    end = planned_end(layout.home, datetime.now(timezone.utc))
    if end is None:
        return None
    from producers.generator import SimulationConfig
    from producers.history import history_config, history_months

    config = history_config(SimulationConfig(seed=seed, providers=providers), end, daily_volume=daily_volume)
    months = history_months(end)
    write_marker(layout.home, status="started", end=end.isoformat(), seed=seed, daily_volume=daily_volume)
    started = time.monotonic()
    events = _publish_and_wait(settings, layout, config, end, f"{months[0]} to {months[-1]}")
    seconds = time.monotonic() - started
    write_marker(
        layout.home,
        status="done",
        end=end.isoformat(),
        seed=seed,
        providers=providers,
        daily_volume=daily_volume,
        months=[months[0], months[-1]],
        events=events,
        seconds=round(seconds, 1),
    )
    return f"history: {events:,} events, {months[0]} to {months[-1]}, through the pipeline in {seconds:.0f}s"


def _publish_and_wait(settings: Settings, layout, config, end: datetime, span: str) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from producers.history import history_days
    from producers.simulate import run_backfill

    watch = PipelineWatch(settings)
    try:
        base = watch.offsets()
        columns = (TextColumn("{task.description:<34}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns) as bar:
            days = bar.add_task(f"history {span} (days)", total=round(history_days(config, end)))
            judged = bar.add_task("events judged by the stream worker", total=None)
            written = bar.add_task("records written by the sink", total=None)
            shown = _Shown(bar, watch, base, judged, written)
            keeper = _Keeper(settings, layout, bar.console.print)
            first = config.clock_start

            def on_event(event) -> None:
                shown.sent += 1
                if shown.sent % 500 == 0:  # examinations come in request order: the bar follows their days
                    day = (event["event_time"] - first).total_seconds() // 86400
                    bar.update(days, completed=max(bar.tasks[days].completed, day))
                    offsets = shown.refresh(every=1.0)
                    if shown.sent - (offsets.judged - base.judged) > _AHEAD:
                        _wait(shown, keeper, lambda o: shown.sent - (o.judged - base.judged) <= _AHEAD // 2)

            stats = run_backfill(settings, config, end, on_event=on_event)
            bar.update(days, completed=bar.tasks[days].total)
            shown.sent = stats.events
            _wait_drained(shown, keeper)
        return stats.events
    finally:
        watch.close()


class _Shown:
    """The pipeline's two bars, refreshed from the consumer groups' offsets now and then."""

    def __init__(self, bar, watch: PipelineWatch, base: Offsets, judged, written) -> None:
        self.bar, self.watch, self.base = bar, watch, base
        self.judged, self.written = judged, written
        self.sent = 0
        self.last: Offsets | None = None
        self._at = 0.0

    def refresh(self, every: float = 0.0) -> Offsets | None:
        if self.last is not None and time.monotonic() - self._at < every:
            return self.last
        self._at = time.monotonic()
        now, base = self.watch.offsets(), self.base
        self.bar.update(self.judged, total=self.sent, completed=min(self.sent, max(0, now.judged - base.judged)))
        made = now.made - base.made
        self.bar.update(self.written, total=made, completed=min(made, max(0, now.written - base.written)))
        self.last = now
        return now


class _Keeper:
    """Keeps the stream worker and the sink running while the backfill waits for them."""

    def __init__(self, settings: Settings, layout, say) -> None:
        self.settings, self.layout, self.say = settings, layout, say
        self.restarts = dict.fromkeys(("streams", "sink"), 0)

    def check(self) -> None:
        from dids.cli.local_stack import start_part
        from dids.kernel.processes import pid_alive, read_pid

        for part, restarts in self.restarts.items():
            pid = read_pid(self.layout.pid_file(part))
            if pid is not None and pid_alive(pid):
                continue
            if restarts >= _RESTARTS:
                raise BackfillError(
                    f"the {part} process stopped {restarts + 1} times during the backfill: see "
                    f"{self.layout.log(part)}; `dids up` again resumes it"
                )
            self.restarts[part] += 1
            self.say(f"  {part} exited during the backfill (see {self.layout.log(part)}); starting it again")
            self.say("  " + start_part(self.settings, self.layout, part))


def _wait_drained(shown: _Shown, keeper: _Keeper) -> None:
    """Until the worker has judged every event published so far, then the sink has written every
    record the worker had made by then (the worker's sends are acknowledged before it commits)."""
    target = shown.refresh().published
    _wait(shown, keeper, lambda o: o.judged >= target)
    made = shown.refresh().made
    _wait(shown, keeper, lambda o: o.written >= made)


def _wait(shown: _Shown, keeper: _Keeper, done) -> None:
    last_change, previous = time.monotonic(), None
    while not done(now := shown.refresh()):
        if now != previous:
            last_change, previous = time.monotonic(), now
        keeper.check()
        if time.monotonic() - last_change > _STALL_SECONDS:
            raise BackfillError(
                f"the pipeline made no progress for {_STALL_SECONDS}s during the backfill: see "
                f"{keeper.layout.log('streams')} and {keeper.layout.log('sink')}; `dids up` again resumes it"
            )
        time.sleep(0.5)
