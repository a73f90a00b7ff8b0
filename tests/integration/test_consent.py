"""Withdrawn consent against the real broker: publish, rebuild at start, follow, skip garbage."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import datetime, timezone

import pytest
from click.testing import CliRunner
from confluent_kafka import Producer
from prometheus_client import REGISTRY

from dids.cli import cli
from dids.cli.local_stack import settings_env
from dids.kernel.consent import ConsentError
from dids.kernel.kafka import client_config
from dids.kernel.pseudonyms import Pseudonymiser
from dids.kernel.settings import Settings
from dids.kernel.topics import CONSENT, ensure_topics
from producers.consent import publish_withdrawals
from schemas.catalog import CONSENT_CHANGE, default_catalog
from streams.runtime.consent import ConsentRegistry

KEY = "5b0e8d2a91c37f46e0a9d4b27c1f83e65d9a0c4b7e2f1836a5c9d0e4b17f2a38"  # as secrets.token_hex(32)
WITHDRAWN = ["9434765919", "4010232137", "943 476 5900"]
NEVER_WITHDRAWN = "9990000026"
WAIT = 30.0


@pytest.fixture
def consent_settings(settings_factory) -> Settings:
    settings = settings_factory(pseudonymisation_key=KEY)
    ensure_topics(settings)
    return settings


@pytest.fixture
def registries() -> list[ConsentRegistry]:
    started: list[ConsentRegistry] = []
    yield started
    for registry in started:
        registry.stop()


def start_registry(settings: Settings, registries: list[ConsentRegistry]) -> ConsentRegistry:
    registry = ConsentRegistry(settings, poll_seconds=0.1).start()
    registries.append(registry)
    assert registry.wait_until_caught_up(WAIT), registry.failure
    return registry


def eventually(condition: Callable[[], bool], timeout: float = WAIT) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def produce_raw(settings: Settings, messages: list[tuple[bytes | None, bytes | None]]) -> None:
    producer = Producer(client_config(settings))
    for key, value in messages:
        producer.produce(settings.topic(CONSENT), key=key, value=value)
    assert producer.flush(WAIT) == 0


def pid(number: str) -> str:
    return Pseudonymiser(KEY.encode()).person_id(number)


def test_a_registry_started_later_rebuilds_the_list_and_follows_reinstatements(consent_settings, registries):
    assert publish_withdrawals(consent_settings, [*WITHDRAWN, "943-476-5919"]) == 3  # one person twice
    registry = start_registry(consent_settings, registries)
    assert len(registry) == 3
    assert all(registry.is_withdrawn(pid(n)) for n in WITHDRAWN)
    assert not registry.is_withdrawn(pid(NEVER_WITHDRAWN))
    assert not registry.is_withdrawn(None)
    assert REGISTRY.get_sample_value("dids_consent_withdrawn_persons") == 3

    # a reinstatement record clears one, a tombstone clears another; the running registry follows both
    assert publish_withdrawals(consent_settings, [WITHDRAWN[0]], reinstate=True) == 1
    produce_raw(consent_settings, [(pid(WITHDRAWN[1]).encode(), None)])
    assert eventually(lambda: len(registry) == 1)
    assert registry.is_withdrawn(pid(WITHDRAWN[2]))

    # and a fresh registry rebuilds the same state from the compacted topic
    fresh = start_registry(consent_settings, registries)
    assert [fresh.is_withdrawn(pid(n)) for n in WITHDRAWN] == [False, False, True]
    assert registry.healthy and fresh.errors == 0


def test_a_running_registry_picks_up_a_new_withdrawal(consent_settings, registries):
    registry = start_registry(consent_settings, registries)  # empty topic: caught up at once
    assert len(registry) == 0
    publish_withdrawals(consent_settings, [NEVER_WITHDRAWN])
    assert eventually(lambda: registry.is_withdrawn(pid(NEVER_WITHDRAWN)))


def test_unusable_messages_are_skipped_and_counted(consent_settings, registries, caplog):
    catalog = default_catalog()
    now = datetime.now(timezone.utc)

    def change(person_id: str, status: str = "withdrawn") -> bytes:
        record = {"person_id": person_id, "status": status, "created_date": None, "processed_time": now}
        return catalog.encode(CONSENT_CHANGE, record)

    good = pid(WITHDRAWN[0])
    produce_raw(
        consent_settings,
        [
            (good.encode(), b"not avro at all"),  # undecodable
            (b"9434765919", change("9434765919")),  # a clear NHS number instead of its hash
            (good.encode(), change(pid(WITHDRAWN[1]))),  # key and person id disagree
            (good.encode(), change(good, status="maybe")),  # unknown status
            (b"\xff\xfe", None),  # tombstone with a key that is not a person id
            (good.encode(), change(good)),  # and a good one after them all
        ],
    )
    before = REGISTRY.get_sample_value("dids_consent_errors_total") or 0.0
    registry = start_registry(consent_settings, registries)
    assert registry.errors == 5
    assert REGISTRY.get_sample_value("dids_consent_errors_total") - before == 5
    assert registry.is_withdrawn(good) and len(registry) == 1
    assert registry.healthy
    skipped = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert len(skipped) == 5 and all(consent_settings.topic(CONSENT) in m for m in skipped)
    assert "9434765919" not in caplog.text and good not in caplog.text


def test_cli_withdraws_from_arguments_and_a_file_printing_counts_only(consent_settings, registries, tmp_path):
    numbers = tmp_path / "objections.txt"
    numbers.write_text(f"# objections received\n{WITHDRAWN[1]}\n\n  {WITHDRAWN[2]}  \n")
    env = settings_env(consent_settings)
    result = CliRunner().invoke(cli, ["consent", "withdraw", "943-476-5919", "--from-file", str(numbers)], env=env)
    assert result.exit_code == 0, result.output
    assert "withdrawn: 3 person(s) from 3 NHS number(s)" in result.output
    assert not re.search(r"\d{3}[ -]?\d{3}[ -]?\d{4}", result.output)
    registry = start_registry(consent_settings, registries)
    assert all(registry.is_withdrawn(pid(n)) for n in WITHDRAWN)

    numbers.write_text(f"{WITHDRAWN[1]}\n943 476 5918\n")  # a typo: nothing is published
    result = CliRunner().invoke(cli, ["consent", "reinstate", "--from-file", str(numbers)], env=env)
    assert result.exit_code == 1 and f"{numbers} line 2" in result.output and "5918" not in result.output
    result = CliRunner().invoke(cli, ["consent", "reinstate", WITHDRAWN[0]], env=env)
    assert result.exit_code == 0 and "reinstated: 1 person(s)" in result.output, result.output
    assert eventually(lambda: not registry.is_withdrawn(pid(WITHDRAWN[0])))
    assert registry.is_withdrawn(pid(WITHDRAWN[1]))


def test_invalid_numbers_publish_nothing():
    settings = Settings(pseudonymisation_key=KEY, kafka_bootstrap="127.0.0.1:1")  # never contacted
    with pytest.raises(ConsentError, match=r"position\(s\) 2") as exc:
        publish_withdrawals(settings, [WITHDRAWN[0], "1234567890"])
    assert "1234567890" not in str(exc.value)


def test_a_missing_consent_topic_is_a_clear_error(settings_factory):
    with pytest.raises(ConsentError, match="were the topics created"):
        ConsentRegistry(settings_factory()).start(timeout=1)
