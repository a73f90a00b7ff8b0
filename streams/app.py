"""The Faust application, built from settings (no module-level app: tests build their own)."""

from __future__ import annotations

import faust

from dids.kafka import faust_credentials
from dids.settings import Settings
from streams import agents, faust_fixes, topics, watchdog
from streams.evaluate import StreamContext


def make_app(settings: Settings, ctx: StreamContext) -> faust.App:
    faust_fixes.apply()
    datadir = settings.home / "faust" / settings.streams_app_id
    datadir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        settings.streams_app_id,
        broker=f"kafka://{settings.kafka_bootstrap}",
        broker_credentials=faust_credentials(settings),
        store="memory://",
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.topic_replication,
        processing_guarantee="at_least_once",
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        producer_compression_type="lz4",
        # every event makes two sends (changelog, record); with no linger each went out as its own
        # request: 20 ms of linger cut the broker's CPU per event by a quarter (dids bench cpu_seconds)
        producer_linger=0.02,
        web_enabled=False,
        autodiscover=False,
        stream_wait_empty=False,
        # Faust keeps table state and its own files here, not in the working directory
        datadir=str(datadir),
    )

    def raw_topic(name: str) -> faust.TopicT:
        return app.topic(settings.topic(name), key_serializer="raw", value_serializer="raw")

    wiring = agents.Topics(
        events=raw_topic(topics.RIS_EVENTS),
        examinations=raw_topic(topics.EXAMINATIONS),
        rejects=raw_topic(topics.REJECTS),
        dlq=raw_topic(topics.DLQ),
    )
    liveness = watchdog.Liveness(limit=settings.streams_liveness_seconds)
    agents.register(app, wiring, ctx, liveness)
    watchdog.register(app, settings.topic(topics.RIS_EVENTS), liveness=liveness)
    return app


def changelog_topic(settings: Settings) -> str:
    """Faust names a table's changelog <app id>-<table>-changelog; it is created up front (topics.py)."""
    return f"{settings.streams_app_id}-examinations-changelog"


def readiness(app: faust.App) -> tuple[bool, str]:
    """For /ready: started, the lifecycle table recovered from its changelog, not mid-rebalance."""
    if not app.started:
        return False, "starting"
    if app.rebalancing:
        return False, "rebalancing partitions"
    if not app.tables.recovery.completed.is_set():
        return False, "recovering the lifecycle table from its changelog"
    return True, "ok"
