"""The Faust application, built from settings (no module-level app: tests build their own)."""

from __future__ import annotations

import faust

from dids.settings import Settings
from streams import agents, topics


def make_app(settings: Settings) -> faust.App:
    app = faust.App(
        settings.streams_app_id,
        broker=f"kafka://{settings.kafka_bootstrap}",
        store="memory://",
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.topic_replication,
        # topics are created by `dids up` / streams.topics.ensure_topics, never implicitly
        topic_allow_declare=True,
        processing_guarantee="at_least_once",
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        producer_compression_type="lz4",
        web_enabled=False,
        autodiscover=False,
        stream_wait_empty=False,
    )
    wiring = agents.Topics(
        events=app.topic(settings.topic(topics.RIS_EVENTS), key_serializer="raw", value_serializer="raw"),
        examinations=app.topic(settings.topic(topics.EXAMINATIONS), key_serializer="raw", value_serializer="raw"),
        dlq=app.topic(settings.topic(topics.DLQ), key_serializer="raw", value_serializer="raw"),
    )
    agents.register(app, wiring)
    return app
