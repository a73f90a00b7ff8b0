"""The sink's metrics, in one place (README "Metrics"; the alert rules and dashboards read them)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from dids.kernel.metrics import LATENCY_BUCKETS

ROWS = Counter("dids_sink_rows_total", "Rows inserted into ClickHouse", ["table"])
BATCHES = Counter("dids_sink_batches_total", "Batches inserted into ClickHouse", ["table"])
ERRORS = Counter("dids_sink_errors_total", "Sink errors", ["kind"])
DEAD_LETTERS = Counter("dids_sink_dead_letters_total", "Undecodable messages sent to the dead-letter topic")
INSERT_SECONDS = Histogram("dids_sink_insert_seconds", "ClickHouse insert latency", buckets=LATENCY_BUCKETS)
FRESHNESS = Histogram(
    "dids_sink_freshness_seconds", "Now minus RIS event time when the row was inserted", buckets=LATENCY_BUCKETS
)
LAG = Gauge("dids_sink_consumer_lag", "Messages not yet consumed", ["group", "topic", "partition"])
LAST_INSERT = Gauge("dids_sink_last_insert_timestamp_seconds", "Unix time of the last successful ClickHouse insert")
FAILING = Gauge("dids_sink_failing", "1 while a batch cannot be inserted and is being retried, else 0")
for _kind in ("insert", "consume"):  # exported at 0 from the start, so rate() sees the first failure
    ERRORS.labels(_kind)
