"""Kafka security settings reach every client: the whole pipeline runs over the broker's SASL/PLAIN
listener (producer, Faust worker, sink and its consumer-group offsets), and a wrong password is a
clear error, not a client waiting forever."""

from __future__ import annotations

import pytest

from dids.kernel.errors import ConfigError
from dids.kernel.kafka import client_config
from dids.kernel.topics import TopicError, ensure_topics
from producers.generator import SimulationConfig
from producers.simulate import run_simulation
from sinks.clickhouse import connect
from sinks.migrate import migrate
from tests.clock import NOW
from tests.conftest import SASL_PASSWORD, SASL_USER
from tests.integration.helpers import poll

N = 300


@pytest.fixture
def sasl_settings(settings_factory, broker):
    return settings_factory(
        kafka_bootstrap=f"127.0.0.1:{broker.sasl_port}",
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_sasl_mechanism="PLAIN",
        kafka_sasl_username=SASL_USER,
        kafka_sasl_password=SASL_PASSWORD,
    )


def test_pipeline_runs_over_sasl(sasl_settings, service_factory):
    settings = sasl_settings
    ensure_topics(settings)
    migrate(settings)
    service_factory(settings, "streams", ready_port=settings.streams_metrics_port)
    service_factory(settings, "sink", ready_port=settings.sink_metrics_port)
    config = SimulationConfig(seed=5, providers=2, invalid_rate=0.0)
    stats = run_simulation(settings, config, mode="records", count=N, now=NOW)
    assert stats.events == N
    client = connect(settings)
    assert poll(lambda: client.command("SELECT count() FROM examinations"), N, timeout=180) == N


def test_wrong_password_fails_and_the_log_says_why(sasl_settings, caplog):
    settings = sasl_settings.with_(kafka_sasl_password="not-the-password")
    with pytest.raises(TopicError, match="DIDS_KAFKA_SASL_"):
        ensure_topics(settings, timeout=5)  # list_topics waits all of it: the refusal comes at once
    assert "Authentication failed" in caplog.text


def test_sasl_without_credentials_is_refused_before_connecting(sasl_settings):
    with pytest.raises(ConfigError, match="DIDS_KAFKA_SASL_USERNAME"):
        client_config(sasl_settings.with_(kafka_sasl_username=""))
