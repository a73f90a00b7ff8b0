from pathlib import Path

import pytest

from dids.kernel.errors import ConfigError
from dids.kernel.settings import Settings


def test_defaults_and_environment():
    s = Settings.from_env(
        {
            "DIDS_KAFKA_BOOTSTRAP": "k:1",
            "DIDS_TOPIC_PARTITIONS": "6",
            "DIDS_HOME": "/x",
            "DIDS_SINK_BATCH_SECONDS": "0.5",
            "DIDS_UNRELATED": "ignored",
        }
    )
    assert s.kafka_bootstrap == "k:1"
    assert s.topic_partitions == 6
    assert s.home == Path("/x")
    assert s.sink_batch_seconds == 0.5
    assert Settings.from_env({}).clickhouse_database == "dids"


def test_bad_number_names_the_variable():
    with pytest.raises(ConfigError, match="DIDS_TOPIC_PARTITIONS"):
        Settings.from_env({"DIDS_TOPIC_PARTITIONS": "many"})


def test_masked_dump_hides_secrets():
    dump = Settings.from_env({"DIDS_CLICKHOUSE_PASSWORD": "s3cret"}).masked()
    assert dump["clickhouse_password"] == "***"
    assert "s3cret" not in repr(dump)


def test_topic_prefix():
    assert Settings(topic_prefix="t1.").topic("dids.dlq") == "t1.dids.dlq"


def test_the_bench_measures_the_batching_settings_of_the_environment_and_no_other(monkeypatch, tmp_path):
    from dids.cli.benchmark import bench_settings

    monkeypatch.setenv("DIDS_SINK_BATCH_SECONDS", "0.3")
    monkeypatch.setenv("DIDS_STREAMS_BATCH_EVENTS", "500")
    monkeypatch.setenv("DIDS_CLICKHOUSE_DATABASE", "production")
    settings = bench_settings(tmp_path)
    assert (settings.sink_batch_seconds, settings.streams_batch_events) == (0.3, 500)
    assert settings.clickhouse_database == "dids_bench"
