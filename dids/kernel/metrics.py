"""Prometheus metrics and health probes: every service serves /metrics, /health and /ready on its own port.

Metric names are ``dids_<service>_<what>[_<unit>][_total]`` (prometheus-client). Labels never carry
patient identifiers: only topic, partition, group, rule code, provider code and the like.

``/health`` answers 200 while the process serves (liveness); ``/ready`` answers 200 when the service
can do its work and 503 with the reason when not (readiness: a worker still recovering its table,
a sink whose inserts are failing, ...). Both return a small JSON body.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import make_wsgi_app

from dids.kernel.errors import DidsError

log = logging.getLogger(__name__)

# seconds: from sub-second stream hops to multi-minute outages
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300)

# (ready, reason): reason says what is missing when not ready
Readiness = Callable[[], tuple[bool, str]]


def always_ready() -> tuple[bool, str]:
    return True, "ok"


def probe_app(metrics_app: Callable, ready: Readiness) -> Callable:
    """A WSGI app: /health and /ready here, everything else (/metrics) to prometheus-client."""

    def app(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path not in ("/health", "/ready"):
            return metrics_app(environ, start_response)
        if path == "/health":
            ok, reason = True, "ok"
        else:
            try:
                ok, reason = ready()
            except Exception as exc:  # a broken probe means not ready, not a crashed server
                ok, reason = False, f"readiness check failed: {type(exc).__name__}"
        body = json.dumps({"status": "ok" if ok else "unavailable", "reason": reason}).encode()
        start_response("200 OK" if ok else "503 Service Unavailable", [("Content-Type", "application/json")])
        return [body]

    return app


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # scrapes every 15 s would flood the service log
        pass


class MetricsPortError(DidsError):
    """The /metrics port is taken (another copy of the service, or `dids up`'s) or not an address here."""


def serve_metrics(
    port: int, host: str = "127.0.0.1", ready: Readiness = always_ready, *, or_any_free: bool = False
) -> int | None:
    """Serve /metrics, /health and /ready from a daemon thread; returns the port, or None when off.
    Port 0 disables it (tests running several services in one process).

    A taken port is a clear error for a service, whose port its scraper and supervisor know; with
    ``or_any_free`` (one-shot commands beside a running stack) it takes a free port and says which.
    """
    if port <= 0:
        return None
    app = probe_app(make_wsgi_app(), ready)
    try:
        server = make_server(host, port, app, _Server, handler_class=_QuietHandler)
    except OSError as exc:
        if not or_any_free:
            raise MetricsPortError(
                f"cannot serve /metrics on {host}:{port}: {exc.strerror or exc} (is `dids up` or another copy "
                "of this service running? `dids status` says); choose another with --metrics-port"
            ) from None
        server = make_server(host, 0, app, _Server, handler_class=_QuietHandler)
        log.warning("port %d is taken (a running stack?): /metrics on port %d instead", port, server.server_port)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    log.info("metrics on http://%s:%d/metrics (probes /health, /ready)", host, server.server_port)
    return server.server_port
