"""The national data opt-out as the warehouse holds it (migration 0011): how many persons are listed, and
whether the sink has copied every change published on ``dids.optout`` yet. An extract run while changes
are still on their way could release a person who has just opted out, so it refuses until they are in."""

from __future__ import annotations

import uuid

from dids.kernel.kafka import client_config
from dids.kernel.settings import Settings
from dids.kernel.topics import OPTOUT

OPTOUT_TABLE = "optout_changes"
OPTED_OUT_VIEW = "opted_out_persons"


def opted_out_count(client, database: str) -> int:
    return int(client.command(f"SELECT count() FROM {database}.{OPTED_OUT_VIEW}"))


def opted_out_persons(client, database: str) -> list[str]:
    """The keyed hashes on the list now (a full refresh takes off those its file no longer has)."""
    return [r[0] for r in client.query(f"SELECT person_id FROM {database}.{OPTED_OUT_VIEW}").result_rows]


def changes_not_copied(settings: Settings, client, timeout: float = 30.0) -> int:
    """Messages on ``dids.optout`` newer than the latest the sink inserted, summed over partitions
    (0 when the warehouse holds the whole list). The last message of a partition is never compacted
    away, so comparing it with the table's highest offset is exact about whether anything is missing."""
    from confluent_kafka import Consumer, TopicPartition

    topic = settings.topic(OPTOUT)
    copied = {
        int(p): int(o)
        for p, o in client.query(
            f"SELECT kafka_partition, max(kafka_offset) FROM {settings.clickhouse_database}.{OPTOUT_TABLE} "
            "WHERE kafka_topic = {t:String} GROUP BY kafka_partition",
            parameters={"t": topic},
        ).result_rows
    }
    consumer = Consumer(client_config(settings, **{"group.id": f"dids-optout-check-{uuid.uuid4().hex}"}))
    try:
        meta = consumer.list_topics(topic, timeout=timeout).topics.get(topic)
        if meta is None or meta.error is not None:
            return 0  # no topic: nothing was ever published
        behind = 0
        for partition in meta.partitions:
            _, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=timeout)
            behind += max(0, (high - 1) - copied.get(partition, -1))
        return behind
    finally:
        consumer.close()
