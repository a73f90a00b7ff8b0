"""Kafka client configuration shared by every producer, consumer and admin client (confluent-kafka),
and the same security settings for the Faust worker (aiokafka)."""

from __future__ import annotations

import logging
from pathlib import Path

from dids.kernel.errors import ConfigError
from dids.kernel.settings import Settings

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


def security_config(settings: Settings) -> dict[str, str]:
    """librdkafka's security properties from the DIDS_KAFKA_* settings, checked up front so a typo
    is one clear error at start-up rather than a client that silently never connects."""
    protocol = settings.kafka_security_protocol.upper()
    if protocol not in PROTOCOLS:
        raise ConfigError(f"DIDS_KAFKA_SECURITY_PROTOCOL={protocol!r}: use one of {', '.join(PROTOCOLS)}")
    config = {"security.protocol": protocol}
    if protocol.startswith("SASL"):
        mechanism = settings.kafka_sasl_mechanism.upper()
        if mechanism not in SASL_MECHANISMS:
            raise ConfigError(f"DIDS_KAFKA_SASL_MECHANISM={mechanism!r}: use one of {', '.join(SASL_MECHANISMS)}")
        if not settings.kafka_sasl_username or not settings.kafka_sasl_password:
            raise ConfigError(f"{protocol} needs DIDS_KAFKA_SASL_USERNAME and DIDS_KAFKA_SASL_PASSWORD")
        config.update(
            {
                "sasl.mechanism": mechanism,
                "sasl.username": settings.kafka_sasl_username,
                "sasl.password": settings.kafka_sasl_password,
            }
        )
    if protocol.endswith("SSL"):
        for name, key in (
            ("kafka_ssl_ca_file", "ssl.ca.location"),
            ("kafka_ssl_cert_file", "ssl.certificate.location"),
            ("kafka_ssl_key_file", "ssl.key.location"),
        ):
            path = getattr(settings, name)
            if path:
                if not Path(path).is_file():
                    raise ConfigError(f"DIDS_{name.upper()}={path!r}: no such file")
                config[key] = path
        if settings.kafka_ssl_key_password:
            config["ssl.key.password"] = settings.kafka_ssl_key_password
    return config


def client_config(settings: Settings, **extra: object) -> dict[str, object]:
    config: dict[str, object] = {"bootstrap.servers": settings.kafka_bootstrap, "client.id": "dids"}
    config.update(security_config(settings))
    config.update(extra)
    return config


def faust_credentials(settings: Settings):
    """The same security for Faust's aiokafka clients: None for PLAINTEXT."""
    import faust
    from aiokafka.helpers import create_ssl_context

    config = security_config(settings)
    protocol = config["security.protocol"]
    context = None
    if protocol.endswith("SSL"):
        context = create_ssl_context(
            cafile=config.get("ssl.ca.location"),
            certfile=config.get("ssl.certificate.location"),
            keyfile=config.get("ssl.key.location"),
            password=config.get("ssl.key.password"),
        )
    if protocol.startswith("SASL"):
        return faust.SASLCredentials(
            username=config["sasl.username"],
            password=config["sasl.password"],
            mechanism=config["sasl.mechanism"],
            ssl_context=context,
        )
    if context is not None:
        return faust.SSLCredentials(context)
    return None


def producer_config(settings: Settings, **extra: object) -> dict[str, object]:
    # Idempotent, acks from all in-sync replicas: nothing lost, nothing doubled by retries.
    return client_config(
        settings,
        **{
            "enable.idempotence": True,
            "acks": "all",
            "compression.type": "lz4",
            # CRC-32 of the key: dids.kernel.keys.partition_of computes the same partition for chunks
            "partitioner": "consistent_random",
            "linger.ms": 20,
            "batch.size": 256 * 1024,
            "queue.buffering.max.messages": 200_000,
            "message.timeout.ms": 120_000,
            **extra,
        },
    )


def admin_client(settings: Settings):
    from confluent_kafka.admin import AdminClient

    logger = logging.getLogger("dids.kafka")
    # a refused login otherwise surfaces only as "broker transport failure"; log the broker's reason
    return AdminClient(
        client_config(settings, logger=logger, error_cb=lambda err: logger.error("Kafka: %s", err.str()))
    )
