"""Thin Faust wiring: decode, merge and evaluate with streams.process, then route. No domain logic here."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter as Tally
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import faust
from prometheus_client import Counter, Gauge, Histogram

from dids.kernel.keys import event_key, is_keyed, partition_of
from dids.kernel.metrics import LATENCY_BUCKETS
from schemas.catalog import EXAMINATION_CHUNK, EXAMINATION_EVENT, default_catalog
from schemas.codec import CodecError
from streams.erasure import PURGE_HEADER, index_key, indexed, is_index_key, purge_command, scrubbed
from streams.evaluate import StreamContext
from streams.process import DeadLetter, decode_events, process_events
from streams.runtime import crash_only
from streams.runtime.batching import batches
from streams.runtime.feedback import publish_feedback
from streams.runtime.linkage import LinkageFeed
from streams.runtime.outputs import Outputs
from streams.runtime.state import LifecycleState
from streams.runtime.table import lifecycle_table
from streams.runtime.watchdog import Liveness

log = logging.getLogger(__name__)

EVENTS_IN = Counter(
    "dids_streams_events_in_total",
    "Events read from the RIS events topic: each event of a chunk counts, and each message that is not an event",
)
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
    "dids_streams_table_examinations",
    "Entries in this worker's lifecycle table: examinations and per-person index entries (RocksDB: its estimate)",
)
ERASED = Counter("dids_streams_erased_states_total", "Lifecycle states scrubbed because their person withdrew consent")
PURGES = Counter("dids_streams_purge_commands_total", "Purge commands read, by outcome", ["outcome"])
CHUNKS_IN = Counter("dids_streams_chunks_in_total", "Chunk messages (a submission's events, many a message) read")
FORWARDED = Counter(
    "dids_streams_forwarded_events_total",
    "Events of a chunk written to another partition than their key's (the topic was repartitioned?), "
    "sent on as single events to their key's partition",
)
# every known label value exported from the start at 0: rate() cannot see a series' first increment,
# so an alert on the first dead letter or reject after a restart would otherwise miss it
for _verdict in ("accepted", "rejected", "pending", "cancelled", "withdrawn"):
    VERDICTS.labels(_verdict)
for _outcome in ("applied", "duplicate", "stale", "unkeyed"):
    MERGES.labels(_outcome)
for _purge in ("obeyed", "refused"):
    PURGES.labels(_purge)
for _error in (
    "ReservedKeyError",
    "EmptyMessageError",
    "NotSingleObjectError",
    "UnknownSchemaError",
    "CorruptMessageError",
    "EmptyChunkError",
):
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
    examinations: str
    rejects: str
    dlq: str
    feedback: str = ""  # verdicts on HL7 events for the listener (streams.runtime.feedback); "" sends none


EVENT_BYTES = 200  # an examination event's Avro is ~240 bytes: a chunk's estimate errs towards smaller batches


@dataclass(frozen=True)
class Batching:
    """How the agent groups events for the columnar engine (``streams.runtime.batching``): a batch closes at
    ``events`` events or ``seconds`` after its first event (the most batching adds to an event's latency
    beyond waiting for the batch before it), whichever comes first."""

    events: int = 2000
    seconds: float = 0.02


def register(
    app: faust.App,
    t: Topics,
    ctx: StreamContext,
    liveness: Liveness,
    batching: Batching,
    outputs: Outputs,
    linkage: LinkageFeed | None = None,
) -> None:
    catalog = default_catalog()
    events_topic = t.events.get_topic_name()
    table = lifecycle_table(app)

    state = LifecycleState(table, outputs)
    # one batch at a time; its states were read before (``state.load``) and are written after, on the loop
    judging = ThreadPoolExecutor(max_workers=1, thread_name_prefix="judge")

    @app.agent(t.events, name="examination_events")
    async def examination_events(stream):
        async for batch in batches(stream, batching.events, batching.seconds, events_in):
            if not ctx.consent_healthy():
                crash_only.stop(
                    "the consent list stopped following dids.consent (see the consent registry error above)",
                    crash_only.EXIT_CONSENT_LOST,
                )
            liveness.progressed()
            pending: list = []  # (event, decoded event) judged together, up to a purge command
            for event in batch:
                msg = event.message
                key = (event.key or b"").decode("utf-8", "replace")
                person = purge_command(event.value, event.headers)
                if person is not None:
                    EVENTS_IN.inc()
                    await judge(pending)  # the events before the command are judged before it erases
                    pending = []
                    erase_person(state, ctx, person, msg.partition)
                    state.write()
                    continue
                decoded = (
                    DeadLetter(
                        "ReservedKeyError", "message key has the form of a per-person index entry, not site|accession"
                    )
                    if is_index_key(key)
                    else decode_events(catalog, event.value)
                )
                if isinstance(decoded, DeadLetter):
                    EVENTS_IN.inc()
                    DEAD_LETTERS.labels(decoded.error).inc()
                    log.warning("dead-lettered %s[%d]@%d: %s", msg.topic, msg.partition, msg.offset, decoded.error)
                    headers = decoded.headers(msg.topic, msg.partition, msg.offset)
                    outputs.send(t.dlq, event.key or b"", event.value or b"", headers)
                    continue
                events, chunk = decoded
                if chunk:
                    CHUNKS_IN.inc()
                    events = placed(events, msg.partition)  # the others are counted where they go
                EVENTS_IN.inc(len(events))
                pending.extend((event, one) for one in events)
                if len(pending) >= batching.events:  # chunks: a batch of events, not of messages
                    await judge(pending)
                    pending = []
            await judge(pending)
            # before the next batch (only then does ``batches`` ack this one): the outputs and the table's
            # changelog acknowledged, then the changelog offsets the table's store holds recorded
            await outputs.flush()
            state.persist()

    def placed(events: list[dict], partition: int) -> list[dict]:
        """The chunk's events whose state lives in ``partition``; any other is sent on, alone, to its own."""
        here = []
        for one in events:
            key = event_key(one).encode()
            home = partition_of(key, app.conf.topic_partitions)
            if home == partition or not is_keyed(key.decode()):
                here.append(one)  # a record with a blank key part is judged alone: any partition will do
                continue
            FORWARDED.inc()
            outputs.send(events_topic, key, catalog.encode(EXAMINATION_EVENT, one), partition=home)
        return here

    def events_in(event) -> int:
        """About how many examination events a message holds, without decoding it: a chunk's size over
        an event's typical Avro size."""
        value = event.value or b""
        try:
            chunk = catalog.writer_name(value) == EXAMINATION_CHUNK
        except CodecError:
            return 1  # dead-lettered when its batch is read
        return max(1, len(value) // EVENT_BYTES) if chunk else 1

    async def judge(pending: list) -> None:
        """Judge the decoded events of a batch together, then store, count and publish each in order."""
        if not pending:
            return
        liveness.progressed()  # a batch of chunks is judged a few thousand events at a time
        # a key's state lives in its event's partition (a chunk's events were placed there)
        home = {event_key(decoded): event.message.partition for event, decoded in pending}
        state.load(home.items())  # one multi-get per partition for the whole batch
        # judged off the event loop, so that Faust goes on handing the next batch its events meanwhile
        # (streams.runtime.batching): on the loop, a batch's polars work stopped their delivery
        routed_all = await asyncio.get_running_loop().run_in_executor(
            judging,
            process_events,
            catalog,
            ctx,
            [decoded for _, decoded in pending],
            lambda key: state.get(key, home[key]),
        )
        people = {
            (index_key(routed.state["person_id"], event.message.partition), event.message.partition)
            for (event, _), routed in zip(pending, routed_all, strict=True)
            if routed.state is not None and routed.state.get("person_id")
        }
        state.load(people)  # and one for their people's index entries
        # counted per batch, then one increment per label value: a labelled metric's lookup is ~3 µs
        tallies: dict[Counter, Tally] = {
            metric: Tally() for metric in (MERGES, VERDICTS, REJECTS_BY_RULE, WARNINGS_BY_RULE)
        }
        providers: set[str] = set()
        for (event, decoded), routed in zip(pending, routed_all, strict=True):
            msg = event.message
            key = event_key(decoded)
            tallies[MERGES][routed.outcome] += 1
            if routed.state is not None:
                state.put(key, msg.partition, routed.state)
                index_person(state, key, routed.state, msg.partition)
            if routed.verdict is not None:
                tallies[VERDICTS][routed.verdict.kind] += 1
                tallies[REJECTS_BY_RULE].update(routed.verdict.rejects)
                tallies[WARNINGS_BY_RULE].update(routed.verdict.warnings)
                provider = (routed.verdict.record or routed.verdict.reject or {}).get("provider_code")
                if provider:
                    providers.add(provider)
            if routed.examination is not None:
                outputs.send(t.examinations, routed.examination.key.encode(), routed.examination.value)
                RECORDS_OUT.inc()
                if linkage is not None:  # with a linkage key only (streams.runtime.linkage)
                    linkage.publish(outputs, routed)
            if routed.reject is not None:
                outputs.send(t.rejects, routed.reject.key.encode(), routed.reject.value)
                REJECTS_OUT.inc()
            if msg.timestamp:
                LATENCY.observe(max(0.0, time.time() - msg.timestamp))
        state.write()  # every state and index entry of the batch, once each
        for metric, tally in tallies.items():
            for label, n in tally.items():
                metric.labels(label).inc(n)
        now = time.time()
        for provider in providers:
            PROVIDER_LAST_EVENT.labels(provider).set(now)
        if t.feedback:
            publish_feedback(outputs, t.feedback, catalog, [decoded for _, decoded in pending], routed_all)

    @app.timer(interval=10.0)
    async def table_size():
        TABLE_SIZE.set(table_entries(table))

    held: set[int] = set()

    @app.timer(interval=1.0)
    async def erase_withdrawn():
        """Send a purge command to each partition of ours that indexes a newly withdrawn person."""
        if app.rebalancing or not app.tables.recovery.completed.is_set():
            return  # the table is not ours to read yet; the withdrawals wait in the registry
        partitions = {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == events_topic}
        if partitions - held:
            ctx.requeue_withdrawals()  # new partitions: their states may predate withdrawals we already handled
        held.clear()
        held.update(partitions)
        if not partitions:
            return
        for person in ctx.take_withdrawals():
            for partition in partitions:
                entry = index_key(person, partition)
                if table.get(entry) is not None:  # outside a message: a bloom-filtered lookup per partition
                    await t.events.send(
                        key=entry.encode(), value=b"", partition=partition, headers=[(PURGE_HEADER, person.encode())]
                    )


def index_person(state, key: str, examination: dict, partition: int) -> None:
    """Add the examination to its person's index entry (written only the first time)."""
    person = examination.get("person_id")
    if not person:
        return
    entry = index_key(person, partition)
    updated = indexed(state.get(entry, partition), key)
    if updated is not None:
        state.put(entry, partition, updated)


def erase_person(state, ctx: StreamContext, person: str, partition: int) -> int:
    """Obey a purge command (read from ``partition``): scrub every state the person's index entry lists.
    ``state`` is the table as ``LifecycleState`` reads and writes it (``get``/``put``/``delete``)."""
    if not ctx.is_withdrawn(person):
        PURGES.labels("refused").inc()  # forged, or reinstated since it was sent: erase nothing
        return 0
    PURGES.labels("obeyed").inc()
    entry = index_key(person, partition)
    listed = state.get(entry, partition)
    if listed is None:
        return 0
    erased = 0
    for record_key in listed:
        examination = state.get(record_key, partition)
        if examination is not None and examination.get("person_id") == person:
            state.put(record_key, partition, scrubbed(examination))
            erased += 1
    state.delete(entry, partition)
    ERASED.inc(erased)
    return erased


def table_entries(table: faust.Table) -> int:
    """Examinations in the table, cheaply: counting a RocksDB store's keys would read every one of them."""
    databases = getattr(table.data, "_dbs", None)  # Faust's rocksdb store: one database per partition held
    if databases is None:
        return len(table)
    return sum(db.property_int_value("rocksdb.estimate-num-keys") or 0 for db in list(databases.values()))
