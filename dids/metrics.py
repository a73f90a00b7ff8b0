"""Prometheus metrics: every service serves /metrics on its own port (prometheus-client).

Metric names start with ``dids_<service>_``. Labels never carry patient identifiers: only topic,
partition, rule code, provider code and the like.
"""

from __future__ import annotations

import logging

from prometheus_client import start_http_server

log = logging.getLogger(__name__)

# seconds: from sub-second stream hops to multi-minute outages
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300)


def serve_metrics(port: int, host: str = "127.0.0.1") -> None:
    """Serve /metrics from a daemon thread. Port 0 disables it (tests running several in one process)."""
    if port <= 0:
        return
    start_http_server(port, addr=host)
    log.info("metrics on http://%s:%d/metrics", host, port)
