"""Kafka client configuration shared by every producer, consumer and admin client (confluent-kafka)."""

from __future__ import annotations

import logging

from dids.settings import Settings


def client_config(settings: Settings, **extra: object) -> dict[str, object]:
    config: dict[str, object] = {"bootstrap.servers": settings.kafka_bootstrap, "client.id": "dids"}
    config.update(extra)
    return config


def producer_config(settings: Settings, **extra: object) -> dict[str, object]:
    # Idempotent, acks from all in-sync replicas: nothing lost, nothing doubled by retries.
    return client_config(
        settings,
        **{
            "enable.idempotence": True,
            "acks": "all",
            "compression.type": "lz4",
            "linger.ms": 20,
            "batch.size": 256 * 1024,
            "queue.buffering.max.messages": 200_000,
            "message.timeout.ms": 120_000,
            **extra,
        },
    )


def admin_client(settings: Settings):
    from confluent_kafka.admin import AdminClient

    return AdminClient(client_config(settings, logger=logging.getLogger("dids.kafka")))
