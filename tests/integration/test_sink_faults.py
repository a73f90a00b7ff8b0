"""The sink under faults, against the real broker and a real ClickHouse engine: whatever happens,
every message on dids.examinations becomes exactly one row.

* kill -9 of the sink, repeatedly, while it inserts;
* a crash after ClickHouse took a batch but before the offsets were committed (the state is built
  exactly: rows already in the table, nothing committed), then a restart;
* the warehouse stopped for 30 s while messages keep coming, then started again on the same data;
* the sink stopped (SIGTERM) while the warehouse is away: it leaves its batch uncommitted and says so.
"""

from __future__ import annotations

import re
import time
import urllib.request
from datetime import date, datetime, timezone

from deploy.warehouse.process import start_warehouse
from dids.kernel import topics
from dids.kernel.ports import free_port
from dids.kernel.producer import EventProducer
from dids.kernel.topics import ensure_topics
from schemas.catalog import EXAMINATION_RECORD, default_catalog
from schemas.compatibility import sample
from sinks.clickhouse import connect
from sinks.migrate import migrate
from sinks.routes import TableShape
from tests.conftest import WAREHOUSE_ADMIN_PASSWORD
from tests.integration.helpers import metric, poll, probe
from tests.integration.kafka_tools import consume

CATALOG = default_catalog()
T = datetime(2026, 11, 2, 10, 0, tzinfo=timezone.utc)


def _record(i: int) -> dict:
    rec = sample(CATALOG.latest(EXAMINATION_RECORD).raw)
    # the stream publishes dates as CCYY-MM-DD or nothing: the sample's filler text would be dead-lettered
    rec.update({name: "2026-11-01" for name, value in rec.items() if name.endswith("_date") and isinstance(value, str)})
    rec.update(
        record_key=f"RAA01|ACC{i:06d}",
        site_code="RAA01",
        accession_number=f"ACC{i:06d}",
        version=1,
        status="active",
        event_id=f"e{i}",
        diagnostic_test_date="2026-11-01",
        first_test_date="2026-11-01",
        event_time=T,
    )
    return rec


def _publish(settings, start: int, stop: int) -> None:
    producer = EventProducer(settings)
    topic = settings.topic(topics.EXAMINATIONS)
    for i in range(start, stop):
        rec = _record(i)
        producer.send(topic, key=rec["record_key"].encode(), value=CATALOG.encode(EXAMINATION_RECORD, rec))
    producer.flush()


def _counts(client) -> tuple[int, int]:
    """(rows, distinct messages): equal means no message was inserted twice."""
    return tuple(
        client.query("SELECT count(), uniqExact(kafka_partition, kafka_offset) FROM examinations").result_rows[0]
    )


def _metric(port: int, name: str) -> float:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name + "{"))


def test_crash_between_insert_and_commit_inserts_nothing_twice(settings_factory, service_factory):
    settings = settings_factory(topic_partitions=1)
    ensure_topics(settings)
    migrate(settings)
    _publish(settings, 0, 500)
    # what a sink that died right after ClickHouse acknowledged offsets 0..299 leaves behind:
    # the rows are in the table, no offset is committed in Kafka
    client = connect(settings)
    shape = TableShape.describe(client, "examinations")
    topic = settings.topic(topics.EXAMINATIONS)
    rows = [shape.row(_record(i), topic, 0, i) for i in range(300)]
    client.insert("examinations", rows, column_names=shape.columns)

    service_factory(settings, "sink", ready_port=settings.sink_metrics_port)
    counts = poll(lambda: _counts(client), (500, 500))
    print(f"\ncrash between insert and commit: {counts[0]} rows for 500 messages")
    assert counts == (500, 500)


def test_sink_killed_repeatedly_loses_and_doubles_nothing(settings_factory, service_factory):
    settings = settings_factory(sink_batch_rows=250, sink_batch_seconds=0.2)
    ensure_topics(settings)
    migrate(settings)
    client = connect(settings)
    n, kills = 12_000, 0
    _publish(settings, 0, n)
    for _ in range(3):
        sink = service_factory(settings, "sink", ready_port=settings.sink_metrics_port)
        before = _counts(client)[0]
        poll(lambda b=before: _counts(client)[0] > b, True, timeout=60)
        if _counts(client)[0] < n:
            sink.kill()  # SIGKILL: no flush, no commit, no goodbye
            kills += 1
    service_factory(settings, "sink", ready_port=settings.sink_metrics_port)
    counts = poll(lambda: _counts(client), (n, n))
    print(f"\nsink killed {kills} times: {counts[0]} rows for {n} messages")
    assert kills >= 1
    assert counts == (n, n)
    # and the operator sees it caught up: lag 0 on both partitions of dids.examinations
    topic = settings.topic(topics.EXAMINATIONS)

    def lag_lines():
        text = urllib.request.urlopen(f"http://127.0.0.1:{settings.sink_metrics_port}/metrics", timeout=5).read()
        return sorted(
            line for line in text.decode().splitlines() if line.startswith("dids_sink_consumer_lag{") and topic in line
        )

    group = settings.sink_group
    expected = [f'dids_sink_consumer_lag{{group="{group}",partition="{p}",topic="{topic}"}} 0.0' for p in (0, 1)]
    assert poll(lag_lines, expected, timeout=10) == expected


class _OwnWarehouse:
    """A warehouse of the test's own (so it can be stopped and started again on the same data) and a
    sink that has inserted the first ``n`` messages into it."""

    def __init__(self, settings_factory, service_factory, tmp_path, n: int):
        self.port, self.data, self.log = free_port(), tmp_path / "wh", tmp_path / "wh.log"
        self.wh = start_warehouse(self.data, self.port, self.log, admin_password=WAREHOUSE_ADMIN_PASSWORD)
        self.settings = settings_factory(clickhouse_url=self.wh.url)
        ensure_topics(self.settings)
        migrate(self.settings)
        self.sink = service_factory(self.settings, "sink", ready_port=self.settings.sink_metrics_port)
        self.client = connect(self.settings)
        _publish(self.settings, 0, n)
        assert poll(lambda: _counts(self.client), (n, n)) == (n, n)

    def restart(self):
        self.wh = start_warehouse(self.data, self.port, self.log, admin_password=WAREHOUSE_ADMIN_PASSWORD)


def test_warehouse_down_for_30_seconds(settings_factory, service_factory, tmp_path):
    own = _OwnWarehouse(settings_factory, service_factory, tmp_path, 1000)
    settings, sink, client = own.settings, own.sink, own.client

    own.wh.stop()
    _publish(settings, 1000, 3000)  # arrives while ClickHouse is away
    time.sleep(30)
    failures = _metric(settings.sink_metrics_port, "dids_sink_errors_total")
    assert sink.alive() and failures >= 1  # it kept retrying, and said so
    assert metric(settings.sink_metrics_port, "dids_sink_failing") == 1
    status, reason = probe(settings.sink_metrics_port, "/ready")
    assert status == 503 and "inserts failing" in reason, (status, reason)
    assert probe(settings.sink_metrics_port, "/health")[0] == 200  # alive: do not restart it, ClickHouse is away

    own.restart()
    try:
        counts = poll(lambda: _counts(client), (3000, 3000))
        print(f"\nwarehouse down 30 s: {failures:.0f} failed inserts retried; {counts[0]} rows for 3000 messages")
        assert counts == (3000, 3000)
        assert poll(lambda: probe(settings.sink_metrics_port, "/ready")[0], 200, timeout=30) == 200
        assert metric(settings.sink_metrics_port, "dids_sink_failing") == 0
    finally:
        own.wh.stop()


def test_sink_stopped_while_the_warehouse_is_away_leaves_its_batch_for_the_next_one(
    settings_factory, service_factory, tmp_path
):
    own = _OwnWarehouse(settings_factory, service_factory, tmp_path, 200)
    settings, sink, client = own.settings, own.sink, own.client

    own.wh.stop()
    _publish(settings, 200, 700)
    assert poll(lambda: metric(settings.sink_metrics_port, "dids_sink_failing"), 1) == 1
    sink.stop()  # SIGTERM, then SIGKILL after 20 s
    said = sink.log_tail(200)
    assert sink.popen.returncode == 0, said
    assert "rows not inserted" in said and "Traceback" not in said, said

    own.restart()
    try:
        service_factory(settings, "sink", ready_port=settings.sink_metrics_port)
        counts = poll(lambda: _counts(client), (700, 700))
        print(f"\nsink stopped while the warehouse was away: {counts[0]} rows for 700 messages")
        assert counts == (700, 700)
    finally:
        own.wh.stop()


def test_shape_rows_use_real_dates():
    shape = TableShape(["diagnostic_test_date", "kafka_offset"], frozenset({"diagnostic_test_date"}))
    assert shape.row(_record(1), "t", 0, 7) == [date(2026, 11, 1), 7]


def test_rows_clickhouse_refuses_are_dead_lettered_and_the_partition_moves_on(settings_factory, service_factory):
    """A record whose date does not parse, and one ClickHouse cannot store (300 in a UInt8 column), go to the
    dead-letter topic with a reason naming the column; every other row of their batch is inserted, and
    so is what follows. Before, the date became NULL silently and the other batch blocked its partition."""
    settings = settings_factory(topic_partitions=1)
    ensure_topics(settings)
    migrate(settings)
    service_factory(settings, "sink", ready_port=settings.sink_metrics_port)
    producer = EventProducer(settings)
    topic = settings.topic(topics.EXAMINATIONS)
    bad = {3: {"diagnostic_test_date": "2026-13-45"}, 7: {"month_of_test": 300}}
    for i in range(12):
        rec = {**_record(i), **bad.get(i, {})}
        producer.send(topic, key=rec["record_key"].encode(), value=CATALOG.encode(EXAMINATION_RECORD, rec))
    producer.flush()
    client = connect(settings)
    assert poll(lambda: _counts(client), (10, 10), timeout=120) == (10, 10)
    dead = consume(settings, settings.topic(topics.DLQ), 2, timeout=60)
    reasons = {dict(m.headers())["dids.source.offset"]: dict(m.headers())["dids.error.message"].decode() for m in dead}
    assert set(reasons) == {b"3", b"7"}, reasons
    assert "diagnostic_test_date" in reasons[b"3"] and "2026-13-45" not in reasons[b"3"]
    _publish(settings, 12, 15)  # the partition is not blocked
    assert poll(lambda: _counts(client), (13, 13), timeout=60) == (13, 13)
    print(f"\ndead-lettered by the sink: {reasons}")


def test_a_refused_row_holds_up_only_its_own_partition_in_a_shared_insert(settings_factory, service_factory):
    """Both partitions' batches of a table go into ClickHouse as one insert. When ClickHouse refuses it,
    each partition's batch is inserted on its own: the clean partition in one piece, the other row by
    row, and only the refused row is dead-lettered."""
    settings = settings_factory(topic_partitions=2)
    ensure_topics(settings)
    migrate(settings)
    producer = EventProducer(settings)
    topic = settings.topic(topics.EXAMINATIONS)
    for i in range(40):  # even i to partition 0, odd to 1; offset i // 2 in it
        rec = {**_record(i), **({"month_of_test": 300} if i == 7 else {})}
        value = CATALOG.encode(EXAMINATION_RECORD, rec)
        producer.send(topic, key=rec["record_key"].encode(), value=value, partition=i % 2)
    producer.flush()
    # everything is on the broker before the sink starts: its first batch holds both partitions
    sink = service_factory(settings, "sink", ready_port=settings.sink_metrics_port)
    client = connect(settings)
    assert poll(lambda: _counts(client), (39, 39), timeout=120) == (39, 39)
    dead = consume(settings, settings.topic(topics.DLQ), 1, timeout=60)
    headers = dict(dead[0].headers())
    assert (headers["dids.source.partition"], headers["dids.source.offset"]) == (b"1", b"3")
    by_partition = dict(client.query("SELECT kafka_partition, count() FROM examinations GROUP BY 1").result_rows)
    assert by_partition == {0: 20, 1: 19}
    log = sink.log_file.read_text()
    assert "insert of 40 rows into examinations failed" in log  # the shared insert was tried first
    assert "examinations[1]: ClickHouse refuses the data of 20 rows" in log
    assert "examinations[0]: ClickHouse refuses" not in log


def test_sinks_joining_and_leaving_mid_stream_lose_and_double_nothing(settings_factory, service_factory):
    """A second sink joins while the first has an insert in flight, then leaves: each revocation lands the
    insert in flight and the partitions' pending rows before handing them over."""
    settings = settings_factory(sink_batch_rows=250, sink_batch_seconds=0.2)
    ensure_topics(settings)
    migrate(settings)
    client = connect(settings)
    n = 12_000
    _publish(settings, 0, n // 2)
    service_factory(settings, "sink", ready_port=settings.sink_metrics_port)
    poll(lambda: _counts(client)[0] > 0, True, timeout=60)
    joiner = settings.with_(sink_metrics_port=free_port())
    second = service_factory(joiner, "sink", ready_port=joiner.sink_metrics_port)
    _publish(settings, n // 2, n)
    poll(lambda: _counts(client)[0] > n // 2, True, timeout=60)
    second.stop()  # leaves the group: its partitions go back to the first sink
    counts = poll(lambda: _counts(client), (n, n), timeout=120)
    log = second.log_file.read_text()
    print(f"\ntwo sinks, one joining and leaving: {counts[0]} rows for {n} messages")
    assert counts == (n, n)
    # the second sink did take a partition of dids.examinations, and gave it back
    assert re.search(r"assigned .*examinations\[\d\]", log) and re.search(r"revoked .*examinations\[\d\]", log)
