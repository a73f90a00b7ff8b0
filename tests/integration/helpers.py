"""Small helpers the integration tests share: bounded polling and reading /metrics."""

from __future__ import annotations

import time
import urllib.request


def poll(fn, expected, timeout: float = 120.0):
    """Call ``fn`` until it returns ``expected`` or ``timeout`` passes; returns the last value.
    A bounded wait, not a timing assertion: the caller asserts on the value."""
    deadline = time.monotonic() + timeout
    value = fn()
    while value != expected and time.monotonic() < deadline:
        time.sleep(0.5)
        value = fn()
    return value


def metric(port: int, name: str, label: str = "") -> float:
    """Sum of every sample of ``name`` (with ``label`` in its labels, if given) on a service's /metrics."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    total = 0.0
    for line in text.splitlines():
        sample, _, value = line.rpartition(" ")
        if (sample == name or sample.startswith(name + "{")) and label in sample:
            total += float(value)
    return total


def probe(port: int, path: str) -> tuple[int, str]:
    """A service's /health or /ready: HTTP status and the reason in its JSON body."""
    import json
    import urllib.error

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
            return resp.status, json.loads(resp.read())["reason"]
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())["reason"]
