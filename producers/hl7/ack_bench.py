"""Time from an HL7 message to its acknowledgements, as a sending RIS sees them (``dids hl7-bench``).

Simulated examinations are written as HL7 with MSH-15/16 = AL and sent at a steady rate over one or
more MLLP connections to a running listener (with its stream worker); a reader per connection notes
when each commit (``CA``) and application (``AA``/``AE``) acknowledgement arrives, matched by MSA-2.
Every message gets a fresh event id, so a second run is not a resend. The result is JSON-ready:
p50/p99/max in milliseconds from the message written to each acknowledgement read.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from producers.generator import SimulationConfig, events
from producers.hl7.mllp import frame
from producers.hl7.writer import ORDER_CODES, encode_message

TARGET_P99_MS = 2000.0


@dataclass(frozen=True)
class AckBenchConfig:
    host: str = "127.0.0.1"
    port: int = 2575
    rate: float = 50.0  # messages a second, over all connections
    seconds: float = 30.0  # how long to send
    connections: int = 1
    wait: float = 60.0  # after the last message, how long to wait for the acknowledgements still due
    seed: int = 1


@dataclass
class _Timings:
    sent: dict[str, float] = field(default_factory=dict)
    commit: dict[str, float] = field(default_factory=dict)
    application: dict[str, tuple[str, float]] = field(default_factory=dict)
    other: int = 0  # acknowledgements that were neither (AR, CE, CR: the listener refused the message)


def messages(config: AckBenchConfig, n: int) -> list[tuple[str, bytes]]:
    """``n`` (control id, HL7 bytes) asking for both acknowledgements, from the simulator."""
    sim = SimulationConfig(seed=config.seed)
    built = []
    for event in events(sim, now=datetime.now(UTC)):
        if event["event_type"] not in ORDER_CODES:
            continue
        payload = encode_message(dict(event, event_id=str(uuid.uuid4())), accept_ack="AL", application_ack="AL")
        built.append((payload.split(b"|", 10)[9].decode(), payload))
        if len(built) == n:
            return built
    return built


def run_ack_bench(config: AckBenchConfig) -> dict[str, object]:
    total = max(1, round(config.rate * config.seconds))
    batches = [messages(config, total)[i :: config.connections] for i in range(config.connections)]
    timings = [_Timings() for _ in batches]
    sockets = [socket.create_connection((config.host, config.port), timeout=10) for _ in batches]
    started = time.monotonic() + 0.5
    threads = []
    for index, (sock, batch, timing) in enumerate(zip(sockets, batches, timings, strict=True)):
        offset = index / config.rate
        interval = config.connections / config.rate
        threads.append(threading.Thread(target=_send, args=(sock, batch, timing, started + offset, interval)))
        threads.append(threading.Thread(target=_read, args=(sock, timing, len(batch), config)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for sock in sockets:
        sock.close()
    return _summary(config, total, timings, time.monotonic() - started)


def _send(sock: socket.socket, batch, timing: _Timings, start: float, interval: float) -> None:
    for number, (control, payload) in enumerate(batch):
        delay = start + number * interval - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        timing.sent[control] = time.monotonic()
        sock.sendall(frame(payload))


def _read(sock: socket.socket, timing: _Timings, expected: int, config: AckBenchConfig) -> None:
    buffer = b""
    deadline = time.monotonic() + config.seconds + config.wait + 5
    sock.settimeout(1.0)
    while len(timing.application) < expected and time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        if not chunk:
            return
        buffer += chunk
        while b"\x1c\x0d" in buffer:
            end = buffer.index(b"\x1c\x0d")
            reply, buffer = buffer[buffer.find(b"\x0b") + 1 : end], buffer[end + 2 :]
            _note(reply, timing, time.monotonic())


def _note(reply: bytes, timing: _Timings, now: float) -> None:
    segments = reply.decode("ascii", "replace").split("\r")
    msa = next((s.split("|") for s in segments if s.startswith("MSA|")), ["MSA", "", ""])
    code, control = msa[1], msa[2] if len(msa) > 2 else ""
    if code == "CA":
        timing.commit[control] = now
    elif code in ("AA", "AE"):
        timing.application[control] = (code, now)
    else:
        timing.other += 1


def _percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p99": None, "max": None}
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)

    return {"p50": at(0.50), "p99": at(0.99), "max": round(ordered[-1] * 1000, 1)}


def _summary(config: AckBenchConfig, total: int, timings: list[_Timings], elapsed: float) -> dict[str, object]:
    commit, application, codes, other = [], [], {"AA": 0, "AE": 0}, 0
    for timing in timings:
        other += timing.other
        commit += [timing.commit[c] - sent for c, sent in timing.sent.items() if c in timing.commit]
        for control, (code, when) in timing.application.items():
            if control in timing.sent:
                application.append(when - timing.sent[control])
                codes[code] += 1
    application_ms = _percentiles(application)
    return {
        "messages": total,
        "rate_per_s": config.rate,
        "connections": config.connections,
        "elapsed_s": round(elapsed, 1),
        "commit_acks": len(commit),
        "commit_ms": _percentiles(commit),
        "application_acks": codes,
        "application_ms": application_ms,
        "missing_application_acks": total - len(application),
        "refused": other,
        "target_p99_ms": TARGET_P99_MS,
        "target_met": application_ms["p99"] is not None
        and application_ms["p99"] <= TARGET_P99_MS
        and len(application) == total,
    }
