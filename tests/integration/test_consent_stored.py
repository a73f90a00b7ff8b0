"""A withdrawal reaches the records already stored: within seconds of `dids consent withdraw` the person's
records leave every view analysts read, live and in a snapshot taken before, while the base table keeps
them; a reinstatement brings them back. A dead consent reader makes the stream worker not ready."""

from __future__ import annotations

import json
from collections import Counter

from confluent_kafka import Producer

from dids.kernel.kafka import client_config
from dids.kernel.pseudonyms import Pseudonymiser
from dids.kernel.settings import Settings
from dids.kernel.topics import RIS_EVENTS, changelog_spec, changelog_topic, ensure_topics
from producers.consent import publish_withdrawals
from producers.generator import SimulationConfig
from producers.simulate import record_events, run_simulation
from schemas.catalog import CONSENT_CHANGE, default_catalog
from sinks import snapshots
from sinks.clickhouse import connect
from sinks.migrate import migrate
from streams.erasure import PURGE_HEADER
from streams.runtime.app import readiness
from streams.runtime.consent import ConsentRegistry
from tests.clock import NOW
from tests.integration.helpers import metric, poll
from tests.integration.kafka_tools import read_to_end
from tests.integration.test_consent import KEY, produce_raw

N = 80


def test_a_withdrawal_hides_the_stored_records_of_the_person(settings_factory, service_factory):
    settings = settings_factory(pseudonymisation_key=KEY)
    ensure_topics(settings, extra=[changelog_spec(settings)])
    migrate(settings)
    service_factory(settings, "streams", ready_port=settings.streams_metrics_port)
    service_factory(settings, "sink", ready_port=settings.sink_metrics_port)
    config = SimulationConfig(seed=41, providers=2, invalid_rate=0.0)
    run_simulation(settings, config, mode="records", count=N, now=NOW)
    client = connect(settings)
    assert poll(lambda: client.command("SELECT count() FROM current_examinations"), N, 120) == N

    pseudonymiser = Pseudonymiser(KEY.encode())
    by_person = Counter(pseudonymiser.person_id(e["nhs_number"]) for e in record_events(config, N, NOW))
    (person, records), *_ = by_person.most_common(1)
    nhs = next(
        e["nhs_number"] for e in record_events(config, N, NOW) if pseudonymiser.person_id(e["nhs_number"]) == person
    )
    month = client.command(  # a month in which the person has records, snapshotted before the withdrawal
        "SELECT max(formatDateTime(diagnostic_test_date, '%Y-%m')) FROM current_examinations "
        "WHERE person_id = {p:String}",
        parameters={"p": person},
    )
    snapshots.take(client, settings.clickhouse_database, month, "provisional", refdata="")

    def visible():
        live = client.command(
            "SELECT count() FROM current_examinations WHERE person_id = {p:String}", parameters={"p": person}
        )
        analyst = client.command(
            "SELECT count() FROM analyst_examinations WHERE person_id = {p:String}", parameters={"p": person}
        )
        snapshot = client.command("SELECT count() FROM stats_records WHERE source = 'provisional'")
        return live, analyst, snapshot

    before = visible()
    in_snapshot = client.command(
        "SELECT count() FROM snapshot_examinations WHERE person_id = {p:String} AND snapshot_month = {m:String}",
        parameters={"p": person, "m": month},
    )
    assert before[:2] == (records, records) and in_snapshot > 0

    # the changelog entries (latest value per key) that name the person: there are some until the withdrawal
    def identifying_entries():
        latest = {m.key(): m.value() for m in read_to_end(settings, changelog_topic(settings))}
        return sorted(
            key.decode()[:12]
            for key, value in latest.items()
            if value and (nhs in value.decode() or person in value.decode())
        ) + sorted(key.decode()[:12] for key, value in latest.items() if value and person in key.decode())

    assert identifying_entries() != []
    # hostile: a forged purge command (the person is not withdrawn) and an event keyed like an index entry
    producer = Producer(client_config(settings))
    for partition in range(settings.topic_partitions):
        producer.produce(
            settings.topic(RIS_EVENTS),
            key=f"person:{person}:{partition}",
            value=b"",
            partition=partition,
            headers=[(PURGE_HEADER, person.encode())],
        )
    producer.produce(settings.topic(RIS_EVENTS), key=f"person:{person}:0", value=b"not avro")
    assert producer.flush(30) == 0
    port = settings.streams_metrics_port
    refused = 'outcome="refused"'
    assert poll(lambda: metric(port, "dids_streams_purge_commands_total", refused), settings.topic_partitions, 30) == (
        settings.topic_partitions
    )
    assert poll(lambda: metric(port, "dids_streams_dead_letters_total", "ReservedKeyError"), 1, 30) == 1
    assert identifying_entries() != []  # nothing erased
    publish_withdrawals(settings, [nhs])
    hidden = poll(visible, (0, 0, before[2] - in_snapshot), 60)
    stored = client.command(
        "SELECT count() FROM examinations FINAL WHERE person_id = {p:String}", parameters={"p": person}
    )
    print(
        f"\nwithdrawn: {records} live records and {in_snapshot} snapshot rows hidden, {stored} kept in the base table"
    )
    assert hidden == (0, 0, before[2] - in_snapshot)
    assert stored == records  # the base table keeps them: a reinstatement brings them back

    assert poll(identifying_entries, [], 30) == []  # scrubbed states; the person's index entry deleted
    publish_withdrawals(settings, [nhs], reinstate=True)
    assert poll(visible, before, 60) == before


def test_unusable_consent_messages_are_not_stored(settings_factory, service_factory):
    """An NHS number in clear on the consent topic is never inserted into ClickHouse."""
    settings = settings_factory(pseudonymisation_key=KEY)
    ensure_topics(settings)
    migrate(settings)
    service_factory(settings, "sink", ready_port=settings.sink_metrics_port)
    record = {"person_id": "9434765919", "status": "withdrawn", "created_date": None, "processed_time": NOW}
    produce_raw(settings, [(b"9434765919", default_catalog().encode(CONSENT_CHANGE, record))])
    publish_withdrawals(settings, ["4010232137"])
    client = connect(settings)
    assert poll(lambda: client.command("SELECT count() FROM consent_changes"), 1, 60) == 1
    assert client.command("SELECT count() FROM consent_changes WHERE person_id LIKE '%9434765919%'") == 0


def test_a_dead_consent_reader_makes_the_worker_not_ready(settings_factory):
    settings: Settings = settings_factory(pseudonymisation_key=KEY)
    ensure_topics(settings)
    registry = ConsentRegistry(settings, poll_seconds=0.1).start()
    assert registry.wait_until_caught_up(30)
    assert registry.healthy
    registry.stop()  # the reader thread is gone: the list no longer follows the topic
    ready, reason = readiness(None, registry)
    assert not ready and "consent" in reason


def test_a_restricted_record_leaves_no_nhs_number_in_the_changelog(settings_factory, service_factory):
    """Before, the lifecycle state of a restricted (fertility-related) record kept its NHS number."""
    from datetime import timedelta

    from dids.kernel.keys import event_key
    from producers.generator import events
    from schemas.catalog import EXAMINATION_EVENT

    settings = settings_factory(pseudonymisation_key=KEY)
    ensure_topics(settings, extra=[changelog_spec(settings)])
    service_factory(settings, "streams", ready_port=settings.streams_metrics_port)
    config = SimulationConfig(seed=43, providers=1, invalid_rate=0.0, cancelled_rate=0.0, corrected_rate=0.0)
    performed = next(e for e in events(config, now=NOW) if e["event_type"] == "performed")
    nhs = "9434765919"
    restricted = dict(performed, nhs_number=nhs, imaging_code_nicip="UFOTA", imaging_code_snomed=None)
    later = restricted["event_time"] + timedelta(seconds=1)
    report = dict(restricted, event_id="r-1", event_type="reported", nhs_number=None, event_time=later)
    catalog, key = default_catalog(), event_key(restricted)
    producer = Producer(client_config(settings))
    for event in (restricted, report):
        producer.produce(settings.topic(RIS_EVENTS), key=key.encode(), value=catalog.encode(EXAMINATION_EVENT, event))
    assert producer.flush(30) == 0

    def states():
        stored = read_to_end(settings, changelog_topic(settings))
        return [m.value() for m in stored if m.key() == json.dumps(key).encode()]  # the table's keys are JSON

    def accepted():
        return metric(settings.streams_metrics_port, "dids_streams_verdicts_total", 'verdict="accepted"')

    def holds_both():  # the table is written once a batch: the last changelog value has seen the report
        stored = states()
        return bool(stored) and "r-1" in json.loads(stored[-1])["seen"]

    # both judged as the record they make: accepted, published twice (the report adds a date)
    assert poll(accepted, 2, 60) == 2
    assert poll(holds_both, True, 60)
    assert not any(nhs.encode() in value for value in states())


def test_a_changelog_made_by_an_earlier_version_gets_todays_configs(settings_factory):
    """Before, only a new changelog was made to compact within a day; one made earlier kept for ever
    the overwritten values naming a withdrawn person."""
    from confluent_kafka.admin import ConfigResource

    from dids.kernel.kafka import admin_client
    from dids.kernel.topics import TopicSpec

    settings = settings_factory()
    spec = changelog_spec(settings)
    ensure_topics(settings, extra=[TopicSpec(spec.name, {"cleanup.policy": "compact"})])  # as an old version did

    def configs():
        admin = admin_client(settings)
        described = admin.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, spec.name)])
        current = next(iter(described.values())).result(timeout=30)
        return {k: current[k].value for k in spec.config}

    assert configs()["max.compaction.lag.ms"] != spec.config["max.compaction.lag.ms"]
    ensure_topics(settings, extra=[spec])
    assert poll(configs, spec.config, 30) == spec.config
