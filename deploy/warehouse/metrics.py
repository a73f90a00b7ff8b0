"""Prometheus metrics of the warehouse, in a registry of its own (no process-global state)."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

from dids.kernel.metrics import LATENCY_BUCKETS


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "dids_warehouse_requests",
            "HTTP requests answered, by kind (query, insert, ping) and HTTP status.",
            ["kind", "status"],
            registry=self.registry,
        )
        self.seconds = Histogram(
            "dids_warehouse_request_seconds",
            "Time to answer a request, body upload and engine time included.",
            ["kind"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.errors = Counter(
            "dids_warehouse_errors",
            "Requests answered with a ClickHouse exception, by kind and exception code.",
            ["kind", "code"],
            registry=self.registry,
        )

    def observe(self, kind: str, status: int, seconds: float, error_code: str | None = None) -> None:
        self.requests.labels(kind=kind, status=str(status)).inc()
        self.seconds.labels(kind=kind).observe(seconds)
        if error_code is not None:
            self.errors.labels(kind=kind, code=error_code).inc()

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
