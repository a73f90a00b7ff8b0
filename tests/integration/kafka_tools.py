"""Reading topics back in integration tests (real broker, confluent-kafka)."""

from __future__ import annotations

import time
import uuid

from confluent_kafka import Consumer

from dids.kernel.kafka import client_config
from dids.kernel.settings import Settings


def consume(settings: Settings, topic: str, expected: int, timeout: float = 60.0, settle: float = 1.0):
    """Read ``topic`` from the start until ``expected`` messages arrived (bounded), then ``settle``
    seconds more to catch any extra message. Returns the messages."""
    consumer = Consumer(
        client_config(
            settings,
            **{"group.id": f"test-{uuid.uuid4().hex}", "auto.offset.reset": "earliest", "enable.auto.commit": False},
        )
    )
    consumer.subscribe([topic])
    out = []
    deadline = time.monotonic() + timeout
    extra_until = None
    try:
        while time.monotonic() < deadline:
            if len(out) >= expected and extra_until is None:
                extra_until = time.monotonic() + settle
            if extra_until is not None and time.monotonic() >= extra_until:
                break
            for msg in consumer.consume(num_messages=1000, timeout=0.2):
                if msg.error() is None:
                    out.append(msg)
    finally:
        consumer.close()
    return out


def consume_keys(settings: Settings, topics: list[str], keys: set[str], timeout: float = 120.0, settle: float = 1.0):
    """Read ``topics`` from the start until a message of every one of ``keys`` arrived (bounded), then
    ``settle`` seconds more to catch any extra message. One pass: re-reading the topics from the start
    while waiting took CPU from the worker being waited for. Returns the messages."""
    consumer = Consumer(
        client_config(
            settings,
            **{"group.id": f"test-{uuid.uuid4().hex}", "auto.offset.reset": "earliest", "enable.auto.commit": False},
        )
    )
    consumer.subscribe(topics)
    out, missing = [], set(keys)
    deadline, extra_until = time.monotonic() + timeout, None
    try:
        while time.monotonic() < deadline and (extra_until is None or time.monotonic() < extra_until):
            for msg in consumer.consume(num_messages=1000, timeout=0.2):
                if msg.error() is None:
                    out.append(msg)
                    missing.discard((msg.key() or b"").decode())
            if not missing and extra_until is None:
                extra_until = time.monotonic() + settle
    finally:
        consumer.close()
    return out


def consume_events(settings: Settings, expected: int, timeout: float = 60.0) -> list[dict]:
    """The examination events on dids.ris.events, single or in chunks (unpacked, in order), checking that
    every event of a chunk is on its key's partition: ``expected`` of them, then a settle for extras."""
    from dids.kernel.keys import event_key, partition_of
    from dids.kernel.topics import RIS_EVENTS
    from schemas.catalog import EXAMINATION_CHUNK, EXAMINATION_EVENT, default_catalog

    catalog, topic = default_catalog(), settings.topic(RIS_EVENTS)
    consumer = Consumer(
        client_config(
            settings,
            **{"group.id": f"test-{uuid.uuid4().hex}", "auto.offset.reset": "earliest", "enable.auto.commit": False},
        )
    )
    consumer.subscribe([topic])
    partitions = len(consumer.list_topics(topic, timeout=10).topics[topic].partitions)
    out: list[dict] = []
    deadline, extra_until = time.monotonic() + timeout, None
    try:
        while time.monotonic() < deadline and (extra_until is None or time.monotonic() < extra_until):
            for msg in consumer.consume(num_messages=1000, timeout=0.2):
                if msg.error() is not None:
                    continue
                if catalog.writer_name(msg.value()) != EXAMINATION_CHUNK:
                    out.append(catalog.decode(msg.value(), EXAMINATION_EVENT))
                    continue
                chunk = catalog.decode(msg.value(), EXAMINATION_CHUNK)
                assert msg.key() == f"{chunk['submission_id']}|{chunk['chunk']}".encode()
                for event in chunk["events"]:
                    assert partition_of(event_key(event).encode(), partitions) == msg.partition()
                out.extend(chunk["events"])
            if len(out) >= expected and extra_until is None:
                extra_until = time.monotonic() + 1.0
    finally:
        consumer.close()
    return out


def set_topic_config(settings: Settings, topic: str, name: str, value: str) -> None:
    """Set one config of a topic on the broker (e.g. a tiny max.message.bytes, so sends are refused)."""
    from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource

    admin = AdminClient(client_config(settings))  # kept in a name: its futures die with the handle
    entry = ConfigEntry(name, value, incremental_operation=AlterConfigOpType.SET)
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic, incremental_configs=[entry])
    for future in admin.incremental_alter_configs([resource]).values():
        future.result(timeout=30)
    deadline = time.monotonic() + 30  # the broker applies it a moment later: wait until it says so
    while time.monotonic() < deadline:
        described = admin.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, topic)])
        configs = next(iter(described.values())).result(timeout=30)
        if configs[name].value == value:
            return
        time.sleep(0.2)
    raise AssertionError(f"{topic}: {name} is still not {value} after 30 s")


def read_to_end(settings: Settings, topic: str, timeout: float = 30.0):
    """Every message of ``topic`` up to its end offsets at the call, in offset order per partition."""
    from confluent_kafka import TopicPartition

    consumer = Consumer(
        client_config(settings, **{"group.id": f"test-{uuid.uuid4().hex}", "enable.auto.commit": False})
    )
    try:
        partitions = consumer.list_topics(topic, timeout=timeout).topics[topic].partitions
        ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout)[1] for p in partitions}
        consumer.assign([TopicPartition(topic, p, 0) for p, end in ends.items() if end > 0])
        out, deadline = [], time.monotonic() + timeout
        remaining = {p for p, end in ends.items() if end > 0}
        while remaining and time.monotonic() < deadline:
            for msg in consumer.consume(num_messages=1000, timeout=0.2):
                if msg.error() is None:
                    out.append(msg)
                    if msg.offset() + 1 >= ends[msg.partition()]:
                        remaining.discard(msg.partition())
        return out
    finally:
        consumer.close()
