"""`dids bench`: one run on this machine, stage ceilings against the whole pipeline, as JSON.

It starts a private stack (broker, warehouse, stream worker, sink) in a scratch home on free ports,
so it never touches `dids up`'s data, then measures:

* ceilings: fastavro encode and decode of the real event schema; a bare confluent-kafka consumer
  reading and decoding the events topic; ClickHouse inserts of 50,000-row batches of real rows;
* the pipeline: an extract of N examinations submitted with `dids submit`'s code, timed until
  every record is queryable (accepted rows + rejects = N);
* freshness at a steady rate: events stamped with the wall clock when sent, and for each row
  ClickHouse's own insert time minus that stamp (p50, p99);
* `dids validate`'s checks over a generated national CSV (records/s, with the sample reference data);
* peak RSS (VmHWM) of every process; and which of the targets of the columnar-core issue are met.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from dids.kernel.ports import free_port
from dids.kernel.settings import Settings

INSERT_BATCH = 50_000
Say = Callable[[str], None]


@dataclass(frozen=True)
class BenchConfig:
    records: int = 1_000_000
    rate: float = 500.0
    freshness_seconds: float = 30.0
    ceiling_events: int = 100_000
    seed: int = 1
    validate_records: int = 200_000  # rows of the CSV `dids validate` checks
    workers: int = 1  # stream workers sharing the events topic (same app id)
    cython_optimizations: bool = False  # faust-streaming's opt-in Cython fast paths in the stream worker
    partitions: int = 2
    keep: Path | None = None  # keep the scratch home here instead of deleting it


def _rate(n: int, seconds: float) -> float:
    return round(n / seconds, 1) if seconds > 0 else 0.0


def _peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (/proc/<pid>/stat fields 14 and 15)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_by_part(pids: dict[str, int]) -> dict[str, float]:
    return {part: cpu for part, pid in pids.items() if (cpu := _cpu_seconds(pid)) is not None}


def _cpu_spent(pids: dict[str, int], before: dict[str, float]) -> dict[str, float]:
    after = _cpu_by_part(pids)
    return {part: round(after[part] - before[part], 1) for part in before if part in after}


# the settings a bench takes from the environment (DIDS_*), to measure them; every other one is its own
TUNING = ("streams_batch_events", "streams_batch_seconds", "sink_batch_rows", "sink_batch_seconds")


def bench_settings(home: Path, partitions: int = 2, *, cython_optimizations: bool = False) -> Settings:
    kafka = free_port()
    tuned = Settings.from_env()
    return Settings(
        **{name: getattr(tuned, name) for name in TUNING},
        home=home,
        topic_partitions=partitions,
        kafka_bootstrap=f"127.0.0.1:{kafka}",
        clickhouse_url=f"http://127.0.0.1:{free_port()}",
        clickhouse_database="dids_bench",
        streams_app_id="dids-bench-streams",
        sink_group="dids-bench-sink",
        streams_metrics_port=free_port(),
        sink_metrics_port=free_port(),
        producer_metrics_port=0,
        streams_cython_optimizations=int(cython_optimizations),
        demo=1,
    )


def avro_ceilings(n: int, seed: int) -> dict[str, Any]:
    """fastavro single-object encode and decode of n real examination events, in this process."""
    from producers.generator import SimulationConfig
    from producers.simulate import record_events
    from schemas.catalog import EXAMINATION_EVENT, default_catalog

    catalog = default_catalog()
    events = list(record_events(SimulationConfig(seed=seed), n, datetime.now(timezone.utc)))
    started = time.perf_counter()
    encoded = [catalog.encode(EXAMINATION_EVENT, e) for e in events]
    encode_s = time.perf_counter() - started
    started = time.perf_counter()
    for body in encoded:
        catalog.decode(body, EXAMINATION_EVENT)
    decode_s = time.perf_counter() - started
    return {
        "events": n,
        "avro_encode_per_s": _rate(n, encode_s),
        "avro_decode_per_s": _rate(n, decode_s),
        "mean_event_bytes": round(sum(map(len, encoded)) / n, 1),
    }


def consumer_ceiling(settings: Settings, expected: int) -> dict[str, Any]:
    """A bare confluent-kafka consumer reading the events topic from the start and decoding each event,
    single or in a chunk."""
    import uuid

    from confluent_kafka import Consumer

    from dids.kernel import topics
    from dids.kernel.kafka import client_config
    from schemas.catalog import EXAMINATION_CHUNK, EXAMINATION_EVENT, default_catalog

    catalog = default_catalog()
    consumer = Consumer(
        client_config(
            settings,
            **{"group.id": f"bench-{uuid.uuid4().hex}", "auto.offset.reset": "earliest", "enable.auto.commit": False},
        )
    )
    consumer.subscribe([settings.topic(topics.RIS_EVENTS)])
    n, started, first = 0, time.perf_counter(), None
    deadline = time.monotonic() + 600
    try:
        while n < expected and time.monotonic() < deadline:
            for msg in consumer.consume(num_messages=5000, timeout=1.0):
                if msg.error() is None:
                    first = first or time.perf_counter()
                    if catalog.writer_name(msg.value()) == EXAMINATION_CHUNK:
                        n += len(catalog.decode(msg.value(), EXAMINATION_CHUNK)["events"])
                    else:
                        catalog.decode(msg.value(), EXAMINATION_EVENT)
                        n += 1
    finally:
        consumer.close()
    seconds = time.perf_counter() - (first or started)
    return {"events": n, "consume_decode_per_s": _rate(n, seconds)}


def insert_ceiling(client, database: str, batches: int = 4) -> dict[str, Any]:
    """Insert 50,000-row batches of real examination rows into a scratch copy of the table."""
    rows = client.query(f"SELECT * FROM {database}.examinations LIMIT {INSERT_BATCH}")
    names, data = list(rows.column_names), rows.result_rows
    if not data:
        return {"rows": 0, "insert_rows_per_s": 0.0}
    while len(data) < INSERT_BATCH:
        data = data + data[: INSERT_BATCH - len(data)]
    client.command(f"DROP TABLE IF EXISTS {database}.bench_insert")
    client.command(f"CREATE TABLE {database}.bench_insert AS {database}.examinations")
    started = time.perf_counter()
    for _ in range(batches):
        client.insert(f"{database}.bench_insert", data, column_names=names)
    seconds = time.perf_counter() - started
    client.command(f"DROP TABLE {database}.bench_insert")
    return {
        "rows": batches * INSERT_BATCH,
        "batch_rows": INSERT_BATCH,
        "insert_rows_per_s": _rate(batches * INSERT_BATCH, seconds),
    }


def _wait_for(count: Callable[[], int], target: int, timeout: float, say: Say, what: str) -> float:
    started = time.monotonic()
    last_said = 0.0
    value = count()
    while value < target:
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"{what}: {value} of {target} after {timeout:.0f}s")
        if time.monotonic() - last_said > 10:
            say(f"  {what}: {value:,} of {target:,}")
            last_said = time.monotonic()
        time.sleep(0.25)
        value = count()
    return time.monotonic() - started


def pipeline_run(settings: Settings, client, n: int, seed: int, scratch: Path, say: Say) -> dict[str, Any]:
    """N examinations as one extract file, submitted while the stream worker and the sink run."""
    from producers.extract.writer import write_csv
    from producers.generator import SimulationConfig, records
    from producers.submit import submit_file

    now = datetime.now(timezone.utc)
    path = scratch / "extract.csv"
    say(f"writing an extract of {n:,} examinations")
    write_csv(records(SimulationConfig(seed=seed, providers=8), n, now), path)
    db = settings.clickhouse_database

    def done() -> int:
        return int(
            client.command(f"SELECT (SELECT count() FROM {db}.examinations) + (SELECT count() FROM {db}.rejects)")
        )

    say("submitting it and waiting until every record is queryable")
    started = time.monotonic()
    result = submit_file(settings, path, period=now.strftime("%Y-%m"), submitter="BENCH", received=now)
    publish_s = time.monotonic() - started
    _wait_for(done, n, timeout=max(600.0, n / 50), say=say, what="rows + rejects")
    total_s = time.monotonic() - started
    accepted = int(client.command(f"SELECT count() FROM {db}.examinations"))
    return {
        "examinations": n,
        "published": result.record_count,
        "accepted_rows": accepted,
        "rejected_rows": int(client.command(f"SELECT count() FROM {db}.rejects")),
        "publish_seconds": round(publish_s, 2),
        "seconds": round(total_s, 2),
        "events_per_s": _rate(n, total_s),
    }


def freshness_run(settings: Settings, client, rate: float, seconds: float, seed: int, say: Say) -> dict[str, Any]:
    """Events at a steady rate, each stamped with the wall clock as it is sent; freshness per row is
    ClickHouse's insert time minus that stamp."""
    from dids.kernel import topics
    from dids.kernel.keys import event_key
    from dids.kernel.producer import EventProducer
    from producers.generator import SimulationConfig
    from producers.simulate import record_events
    from schemas.catalog import EXAMINATION_EVENT, default_catalog

    catalog, producer = default_catalog(), EventProducer(settings)
    topic = settings.topic(topics.RIS_EVENTS)
    total = int(rate * seconds)
    say(f"freshness: {total:,} events at {rate:g}/s")
    events = record_events(SimulationConfig(seed=seed + 1, providers=8), total, datetime.now(timezone.utc))
    # connected before the clock starts, as a RIS adapter is: else the first events wait for the metadata
    # and the connection, and then arrive as a burst that sets the p99
    producer.partitions(topic)
    started = time.monotonic()
    for i, event in enumerate(events):
        ahead = started + i / rate - time.monotonic()
        if ahead > 0:
            producer.poll(ahead)
        event.update(received_time=datetime.now(timezone.utc), source="bench")
        producer.send(topic, key=event_key(event).encode(), value=catalog.encode(EXAMINATION_EVENT, event))
    producer.flush()
    sent_s = time.monotonic() - started
    db = settings.clickhouse_database

    def done() -> int:
        return int(
            client.command(
                f"SELECT (SELECT count() FROM {db}.examinations WHERE source = 'bench') "
                f"+ (SELECT count() FROM {db}.rejects WHERE source = 'bench')"
            )
        )

    _wait_for(done, total, timeout=300, say=say, what="fresh rows")
    # whole freshness, and its two legs: sent -> stream worker's output (processed_time), output -> insert
    legs = {
        "": ("received_time", "inserted_time"),
        "stream_": ("received_time", "processed_time"),
        "sink_": ("processed_time", "inserted_time"),
    }
    out: dict[str, Any] = {"events": total, "target_rate_per_s": rate, "achieved_rate_per_s": _rate(total, sent_s)}
    for leg, (start, end) in legs.items():
        p50, p99, worst = client.query(
            "SELECT quantilesExact(0.5, 0.99)(f)[1], quantilesExact(0.5, 0.99)(f)[2], max(f) FROM "
            f"(SELECT dateDiff('millisecond', {start}, {end}) / 1000 AS f FROM {db}.examinations "
            "WHERE source = 'bench')"
        ).result_rows[0]
        out.update(
            {
                f"{leg}freshness_p50_s": round(float(p50), 3),
                f"{leg}freshness_p99_s": round(float(p99), 3),
                f"{leg}freshness_max_s": round(float(worst), 3),
            }
        )
    return out


def validate_run(n: int, seed: int, scratch: Path, say: Say) -> dict[str, Any]:
    """`dids validate`'s checks over an ``n``-record national CSV, with the shipped sample reference data."""
    from dids.cli.validation import build_checks, validate_extract
    from producers.extract import open_extract, write_csv
    from producers.generator import SimulationConfig, records
    from streams.refdata.loaders import SAMPLES_DIR

    path = scratch / "validate.csv"
    now = datetime.now(timezone.utc)
    write_csv(records(SimulationConfig(seed=seed, providers=8), n, now), path)
    say(f"validate: {n:,} records")
    checks = build_checks(now, refdata_dir=SAMPLES_DIR)
    started = time.perf_counter()
    summary = validate_extract(open_extract(path), checks).summary()
    seconds = time.perf_counter() - started
    return {
        "records": summary.records,
        "accepted": summary.accepted,
        "rejected": summary.rejected,
        "seconds": round(seconds, 3),
        "records_per_s": _rate(summary.records, seconds),
    }


def start_extra_worker(settings: Settings, layout, part: str) -> str:
    from dids.cli.local_stack import settings_env
    from dids.kernel.processes import spawn, wait_until

    port = free_port()
    argv = [sys.executable, "-m", "dids", "streams", "--metrics-port", str(port)]
    proc = spawn(part, argv, layout.log(part), env=settings_env(settings), pid_file=layout.pid_file(part))
    wait_until(
        lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2),
        what=part,
        timeout=90,
        process=proc,
    )
    return f"{part}: worker pid {proc.pid}, metrics :{port}"


def run(config: BenchConfig, say: Say) -> dict[str, Any]:
    from dids.cli.local_stack import Layout, start_part, stop_part
    from dids.kernel.topics import ensure_topics
    from sinks.clickhouse import connect
    from sinks.migrate import migrate

    scratch = Path(tempfile.mkdtemp(prefix="dids-bench-")) if config.keep is None else config.keep
    settings = bench_settings(scratch / "home", config.partitions, cython_optimizations=config.cython_optimizations)
    layout = Layout(settings.home)
    out: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "settings": {
            "topic_partitions": settings.topic_partitions,
            "stream_workers": config.workers,
            "faust_cython_optimizations": config.cython_optimizations,
            **{name: getattr(settings, name) for name in TUNING},
        },
    }
    started_parts: list[str] = []
    try:
        say("avro ceilings")
        out["ceilings"] = {"avro": avro_ceilings(config.ceiling_events, config.seed)}
        for part in ("kafka", "warehouse"):
            say(start_part(settings, layout, part))
            started_parts.append(part)
        ensure_topics(settings)
        migrate(settings)
        client = connect(settings)
        for part in ("streams", "sink"):
            say(start_part(settings, layout, part))
            started_parts.append(part)
        for i in range(2, config.workers + 1):  # more workers with the same app id share the partitions
            part = f"streams-{i}"
            say(start_extra_worker(settings, layout, part))
            started_parts.append(part)
        from dids.kernel.processes import read_pid

        pids = {part: read_pid(layout.pid_file(part)) for part in started_parts}
        pids["bench"] = os.getpid()  # the submitting producer runs in this process
        # where the time went: CPU seconds each process spent on each run, against the wall clock
        cpu_before = _cpu_by_part(pids)
        out["pipeline"] = pipeline_run(settings, client, config.records, config.seed, scratch, say)
        out["pipeline"]["cpu_seconds"] = _cpu_spent(pids, cpu_before)
        cpu_before = _cpu_by_part(pids)
        out["freshness"] = freshness_run(settings, client, config.rate, config.freshness_seconds, config.seed, say)
        out["freshness"]["cpu_seconds"] = _cpu_spent(pids, cpu_before)
        # the pipeline's memory, read before the ceilings: their 50k-row inserts are not the sink's 5k
        out["peak_rss_mb"] = {
            part: _peak_rss_mb(pid) for part in started_parts if (pid := read_pid(layout.pid_file(part))) is not None
        }
        out["peak_rss_mb"]["bench"] = _peak_rss_mb(os.getpid())
        say("ceilings: bare consumer, ClickHouse inserts")
        out["ceilings"]["consumer"] = consumer_ceiling(settings, config.records)
        out["ceilings"]["clickhouse_insert"] = insert_ceiling(client, settings.clickhouse_database)
        pipeline = out["pipeline"]["events_per_s"]
        ceilings = out["ceilings"]
        out["ratios"] = {
            "pipeline_to_avro_decode": round(pipeline / ceilings["avro"]["avro_decode_per_s"], 4),
            "pipeline_to_consumer": round(pipeline / max(ceilings["consumer"]["consume_decode_per_s"], 1), 4),
            "pipeline_to_clickhouse_insert": round(
                pipeline / max(ceilings["clickhouse_insert"]["insert_rows_per_s"], 1), 4
            ),
        }
        out["validate"] = validate_run(config.validate_records, config.seed, scratch, say)
        # the columnar-core issue's targets, each as met or not in this run
        out["targets"] = {
            "events_per_s_20000": pipeline >= 20_000,
            "pipeline_to_avro_decode_0.30": out["ratios"]["pipeline_to_avro_decode"] >= 0.30,
            "validate_records_per_s_100000": out["validate"]["records_per_s"] >= 100_000,
            "freshness_p99_1s": out["freshness"]["freshness_p99_s"] <= 1.0,
            "rss_500mb": all(v is not None and v <= 500 for v in out["peak_rss_mb"].values()),
        }
        return out
    finally:
        for part in reversed(started_parts):
            say(stop_part(layout, part))
        if config.keep is None:
            shutil.rmtree(scratch, ignore_errors=True)


def dumps(result: dict[str, Any]) -> str:
    return json.dumps(result, indent=2, default=str)
