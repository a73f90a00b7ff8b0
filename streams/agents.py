"""Thin Faust wiring: decode, merge and evaluate with streams.process, then route. No domain logic here."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import faust
from prometheus_client import Counter, Gauge, Histogram

from dids.metrics import LATENCY_BUCKETS
from schemas.catalog import default_catalog
from streams import crash_only
from streams.evaluate import StreamContext
from streams.process import DeadLetter, decode_event, process_event
from streams.watchdog import Liveness

log = logging.getLogger(__name__)

EVENTS_IN = Counter("dids_streams_events_in_total", "Events read from the RIS events topic")
MERGES = Counter("dids_streams_merges_total", "Lifecycle merge outcomes", ["outcome"])
VERDICTS = Counter("dids_streams_verdicts_total", "Examinations evaluated, by verdict", ["verdict"])
RECORDS_OUT = Counter("dids_streams_records_out_total", "Current records published to dids.examinations")
REJECTS_OUT = Counter("dids_streams_rejects_out_total", "Rejected records published to dids.rejects")
REJECTS_BY_RULE = Counter("dids_streams_rejects_by_rule_total", "Record rejects by national rule code", ["rule"])
WARNINGS_BY_RULE = Counter("dids_streams_warnings_by_rule_total", "Warnings by national rule code", ["rule"])
DEAD_LETTERS = Counter("dids_streams_dead_letters_total", "Messages sent to the dead-letter topic", ["error"])
LATENCY = Histogram(
    "dids_streams_latency_seconds", "Collector receipt to publication of the derived record", buckets=LATENCY_BUCKETS
)
TABLE_SIZE = Gauge(
    "dids_streams_table_examinations", "Examinations held in this worker's lifecycle table (RocksDB: its estimate)"
)
# every known label value exported from the start at 0: rate() cannot see a series' first increment,
# so an alert on the first dead letter or reject after a restart would otherwise miss it
for _verdict in ("accepted", "rejected", "pending", "cancelled", "withdrawn"):
    VERDICTS.labels(_verdict)
for _outcome in ("applied", "duplicate", "stale", "unkeyed"):
    MERGES.labels(_outcome)
for _error in ("EmptyMessageError", "NotSingleObjectError", "UnknownSchemaError", "CorruptMessageError"):
    DEAD_LETTERS.labels(_error)

# provider codes are organisations, not patients: a few hundred series at most
PROVIDER_LAST_EVENT = Gauge(
    "dids_streams_provider_last_event_timestamp_seconds",
    "Unix time this worker last evaluated an examination from the provider (alerts on silent providers)",
    ["provider"],
)


@dataclass(frozen=True)
class Topics:
    events: faust.TopicT
    examinations: faust.TopicT
    rejects: faust.TopicT
    dlq: faust.TopicT


def register(app: faust.App, t: Topics, ctx: StreamContext, liveness: Liveness) -> None:
    catalog = default_catalog()
    # the changelog key is the JSON string of the record key; its partition is the source event's partition
    table = app.Table(
        "examinations",
        default=None,
        partitions=app.conf.topic_partitions,
        schema=faust.Schema(key_serializer="json", value_serializer="json"),
    )

    @app.agent(t.events, name="examination_events")
    async def examination_events(stream):
        async for event in stream.events():
            if not ctx.consent_healthy():
                crash_only.stop(
                    "the consent list stopped following dids.consent (see the consent registry error above)",
                    crash_only.EXIT_CONSENT_LOST,
                )
            EVENTS_IN.inc()
            liveness.progressed()
            msg = event.message
            decoded = decode_event(catalog, event.value)
            if isinstance(decoded, DeadLetter):
                DEAD_LETTERS.labels(decoded.error).inc()
                log.warning("dead-lettered %s[%d]@%d: %s", msg.topic, msg.partition, msg.offset, decoded.error)
                await t.dlq.send(
                    key=event.key, value=event.value, headers=decoded.headers(msg.topic, msg.partition, msg.offset)
                )
                continue
            key = (event.key or b"").decode("utf-8", "replace")
            routed = process_event(catalog, ctx, decoded, table.get(key))
            MERGES.labels(routed.outcome).inc()
            if routed.state is not None:
                table[key] = routed.state
            if routed.verdict is not None:
                VERDICTS.labels(routed.verdict.kind).inc()
                for code in routed.verdict.rejects:
                    REJECTS_BY_RULE.labels(code).inc()
                for code in routed.verdict.warnings:
                    WARNINGS_BY_RULE.labels(code).inc()
                provider = (routed.verdict.record or routed.verdict.reject or {}).get("provider_code")
                if provider:
                    PROVIDER_LAST_EVENT.labels(provider).set(time.time())
            if routed.examination is not None:
                await t.examinations.send(key=routed.examination.key.encode(), value=routed.examination.value)
                RECORDS_OUT.inc()
            if routed.reject is not None:
                await t.rejects.send(key=routed.reject.key.encode(), value=routed.reject.value)
                REJECTS_OUT.inc()
            if msg.timestamp:
                LATENCY.observe(max(0.0, time.time() - msg.timestamp))

    @app.timer(interval=10.0)
    async def table_size():
        TABLE_SIZE.set(table_entries(table))


def table_entries(table: faust.Table) -> int:
    """Examinations in the table, cheaply: counting a RocksDB store's keys would read every one of them."""
    databases = getattr(table.data, "_dbs", None)  # Faust's rocksdb store: one database per partition held
    if databases is None:
        return len(table)
    return sum(db.property_int_value("rocksdb.estimate-num-keys") or 0 for db in list(databases.values()))
