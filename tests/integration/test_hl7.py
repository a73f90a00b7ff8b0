"""`dids hl7` for real: a listener subprocess, MLLP over TCP, the session's Kafka broker.

Every wait is bounded; nothing here asserts on timing.
"""

from __future__ import annotations

import contextlib
import functools
import socket
import ssl
import subprocess
import threading
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

import hl7
import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from dids.kernel import topics
from dids.kernel.keys import event_key
from dids.kernel.ports import free_port
from dids.kernel.processes import Background
from dids.kernel.settings import Settings
from producers.generator import ITEM_FIELDS, SimulationConfig, events
from producers.hl7.mllp import frame
from producers.hl7.writer import encode_message
from schemas.catalog import EXAMINATION_CHUNK, default_catalog

NOW = datetime(2024, 7, 10, tzinfo=UTC)
WAIT = 60.0


@dataclass
class Listener:
    settings: Settings
    port: int
    metrics_port: int
    process: Background


@pytest.fixture
def listener(settings_factory, service_factory) -> Listener:
    settings = settings_factory()
    port, metrics_port = free_port(), free_port()
    args = ["--listen", f"127.0.0.1:{port}", "--idle-timeout", "2", "--max-message-bytes", "900000"]
    args += ["--frame-deadline", "3"]
    process = service_factory(settings, "hl7", *args, "--metrics-port", str(metrics_port), ready_port=metrics_port)
    return Listener(settings, port, metrics_port, process)


@pytest.fixture(scope="module")
def sample() -> list[dict[str, object]]:
    """Valid lifecycle events (no deliberate breakage, so items must come back exactly)."""
    config = SimulationConfig(seed=5, providers=2, invalid_rate=0.0, cancelled_rate=0.2, corrected_rate=0.3)
    return list(events(config, now=NOW, limit=40))


# --- MLLP client ------------------------------------------------------------------------------


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=WAIT)


def read_frame(sock: socket.socket) -> bytes | None:
    """One framed reply, or None if the listener closed the connection."""
    data = b""
    while b"\x1c\x0d" not in data:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return None
        if not chunk:
            return None
        data += chunk
    start = data.index(b"\x0b")
    return data[start + 1 : data.index(b"\x1c\x0d")]


def exchange(port: int, payload: bytes) -> hl7.Message:
    with connect(port) as sock:
        sock.sendall(frame(payload))
        reply = read_frame(sock)
    assert reply is not None, "listener closed the connection without an ACK"
    return hl7.parse(reply.decode("ascii"))


def msa(ack: hl7.Message, n: int) -> str:
    return ack.extract_field("MSA", 1, n)


def good_message() -> bytes:
    return encode_message(dict(_good_event(), event_id=str(uuid.uuid4())))


@functools.cache
def _good_event() -> dict[str, object]:
    """Made once: the generator takes seconds on a busy machine, longer than the listener's idle timeout
    here (2 s), and a test that connected first saw its connection closed before it sent a byte."""
    return next(events(SimulationConfig(seed=99, invalid_rate=0.0), now=NOW, limit=1))


def assert_still_serving(port: int) -> None:
    assert msa(exchange(port, good_message()), 1) == "AA"


# --- Kafka ------------------------------------------------------------------------------------


def consume(settings: Settings, topic: str, n: int) -> list:
    """The first ``n`` messages of a topic (all partitions from the beginning), within WAIT."""
    consumer = Consumer(
        {"bootstrap.servers": settings.kafka_bootstrap, "group.id": f"test-{uuid.uuid4()}", "enable.auto.commit": False}
    )
    name = settings.topic(topic)
    consumer.assign([TopicPartition(name, p, OFFSET_BEGINNING) for p in range(settings.topic_partitions)])
    found, deadline = [], time.monotonic() + WAIT
    try:
        while len(found) < n and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is not None and not msg.error():
                found.append(msg)
    finally:
        consumer.close()
    assert len(found) == n, f"{name}: {len(found)} messages, expected {n} within {WAIT:.0f}s"
    return found


def metric(port: int, name: str, **labels: str) -> float:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    wanted = [f'{k}="{v}"' for k, v in labels.items()]
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name + ("{" if labels else "")) and all(w in line for w in wanted)
    )


def headers_of(msg) -> dict[str, str]:
    return {k: v.decode("latin-1") for k, v in msg.headers() or []}


# --- tests ------------------------------------------------------------------------------------


def test_messages_are_acknowledged_and_reach_kafka(listener, sample):
    sent = []
    with connect(listener.port) as sock:  # one connection, in order, as a RIS sends
        for index, event in enumerate(sample):
            payload = encode_message(event, orders="OMI" if index % 3 == 0 else "ORM")
            sock.sendall(frame(payload))
            ack = hl7.parse(read_frame(sock).decode("ascii"))
            assert msa(ack, 1) == "AA", msa(ack, 3)
            assert msa(ack, 2) == hl7.parse(payload.decode()).extract_field("MSH", 1, 10)
            sent.append(event)

    catalog = default_catalog()
    received = [
        (m.key().decode(), catalog.decode(m.value(), "examination_event"))
        for m in consume(listener.settings, topics.RIS_EVENTS, len(sent))
    ]
    by_id = {(e["radiological_accession_num"], e["event_type"], e["event_time"]): (k, e) for k, e in received}
    assert len(by_id) == len(sent)
    for event in sent:
        key, back = by_id[(event["radiological_accession_num"], event["event_type"], event["event_time"])]
        assert key == event_key(event)
        assert {n: back[n] for n in ITEM_FIELDS} == {n: event[n] for n in ITEM_FIELDS}
        assert back["source"] == "hl7" and back["submitter_org"] == event["site_code_imaging"]
    types = {"requested", "performed", "reported"} & {e["event_type"] for e in sent}
    assert len(types) == 3
    assert metric(listener.metrics_port, "dids_hl7_messages_total", ack="AA") == len(sent)

    # SIGTERM: stops cleanly, having flushed; no identifier was logged
    listener.process.stop(timeout=30)
    assert listener.process.popen.returncode == 0
    log = listener.process.log_file.read_text(errors="replace")
    assert "HL7 listener stopped" in log
    assert not any(str(e["nhs_number"]) in log for e in sent if e["nhs_number"])


def test_unmappable_and_undecodable_messages_are_nacked_and_dead_lettered(listener):
    good = good_message().decode()
    segments = good.rstrip("\r").split("\r")
    adt = good.replace("ORM^O01^ORM_O01", "ADT^A01^ADT_A01").encode()
    no_obr = "\r".join(s for s in segments if not s.startswith("OBR")).encode()
    wrong_order = "\r".join([segments[0], *[s for s in segments[1:] if s.startswith("O")], segments[1]]).encode()
    cases = [
        (adt, "AE", "hl7.unmappable", "message type ADT^A01 is not supported"),
        (no_obr, "AE", "hl7.unmappable", "no OBR segment"),
        (wrong_order, "AE", "hl7.unmappable", "after ORC/OBR"),
        (b"this is not HL7 at all", "AR", "hl7.undecodable", "not an HL7 v2 message"),
        (good.encode().replace(b"|PID|", b"|PID|").replace(b"PID|1", b"PID|\x001"), "AR", "hl7.undecodable", "NUL"),
        (good.replace("SIMULATED", "CAF\u00c9").encode("latin-1"), "AR", "hl7.undecodable", "invalid UTF-8"),
    ]
    for payload, code, _, reason in cases:
        ack = exchange(listener.port, payload)
        assert msa(ack, 1) == code
        assert reason in msa(ack, 3)
        assert reason in ack.segment("ERR").extract_field(1, 8)
    assert_still_serving(listener.port)

    dead = consume(listener.settings, topics.DLQ, len(cases))
    by_value = {m.value(): headers_of(m) for m in dead}
    for payload, _, kind, reason in cases:
        headers = by_value[payload]  # the raw bytes, unchanged
        assert headers["dids.error"] == kind and reason in headers["dids.error.message"]
        assert headers["dids.source"] == "hl7" and headers["dids.peer"].startswith("127.0.0.1:")
        assert not any("999" in v and len(v) == 10 for v in headers.values())  # no NHS number in headers
    assert metric(listener.metrics_port, "dids_hl7_messages_total", ack="AE") == 3
    assert metric(listener.metrics_port, "dids_hl7_messages_total", ack="AR") == 3


def test_adversarial_clients_do_not_stop_the_listener(listener):
    port = listener.port
    # a 10 MB frame: AR (when the client can still read it) and the connection is closed
    with connect(port) as sock:
        big = frame(good_message() + b"OBX|1|TX|||" + b"x" * 10_000_000)
        sender = threading.Thread(target=_send_quietly, args=(sock, big), daemon=True)
        sender.start()
        reply = read_frame(sock)
        assert reply is None or msa(hl7.parse(reply.decode("ascii")), 1) == "AR"
        assert _closed(sock)
    assert_still_serving(port)

    # a frame cut off by a disconnect: dead-lettered as it arrived
    partial = good_message()[:150]
    with connect(port) as sock:
        sock.sendall(b"\x0b" + partial)
    assert_still_serving(port)

    # a client that connects and sends nothing is closed after the idle timeout
    with connect(port) as sock:
        assert _closed(sock)
    assert_still_serving(port)

    # junk before the start block is skipped; the message after it is served on the same connection
    with connect(port) as sock:
        sock.sendall(b"GET / HTTP/1.0\r\n\r\n" + frame(good_message()))
        assert msa(hl7.parse(read_frame(sock).decode("ascii")), 1) == "AA"

    # undeclared Latin-1 (no MSH-18) is read as Windows-1252 and accepted
    latin = good_message().decode().replace("|UNICODE UTF-8", "").replace("SIMULATED", "CAF\u00c9")
    assert msa(exchange(port, latin.encode("latin-1")), 1) == "AA"

    # many concurrent connections
    with ThreadPoolExecutor(max_workers=16) as pool:
        codes = list(pool.map(lambda _: msa(exchange(port, good_message()), 1), range(48)))
    assert codes == ["AA"] * 48

    dead = {headers_of(m)["dids.error"]: m for m in consume(listener.settings, topics.DLQ, 2)}
    assert dead["hl7.truncated_frame"].value() == partial
    oversized = dead["hl7.oversized"]
    assert oversized.value().startswith(b"MSH|") and len(oversized.value()) <= 64 * 1024
    assert int(headers_of(oversized)["dids.hl7.bytes"]) > 900_000
    deadline = time.monotonic() + WAIT
    while metric(listener.metrics_port, "dids_hl7_connections") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert metric(listener.metrics_port, "dids_hl7_connections") == 0


def _send_quietly(sock: socket.socket, data: bytes) -> None:
    with contextlib.suppress(OSError):  # the listener closes the connection: expected
        sock.sendall(data)


def _closed(sock: socket.socket) -> bool:
    """True once the listener closed the connection (EOF or reset), within WAIT."""
    sock.settimeout(WAIT)
    try:
        while sock.recv(65536):
            pass
    except ConnectionResetError:
        pass
    return True


def test_a_frame_trickling_in_ends_at_its_deadline(listener):
    """A byte every half second keeps an idle timer happy forever; the frame deadline (3 s) does not."""
    started = time.monotonic()
    with connect(listener.port) as sock:
        sock.sendall(b"\x0b" + good_message()[:40])
        while not _closed_within(sock, 0.5) and time.monotonic() - started < 30:
            with contextlib.suppress(OSError):
                sock.sendall(b"x")
        took = time.monotonic() - started
    print(f"\ntrickling frame closed after {took:.1f}s (deadline 3 s, idle timeout 2 s)")
    assert took < 30, "the connection should have been closed at the frame deadline"
    (dead,) = consume(listener.settings, topics.DLQ, 1)
    assert headers_of(dead)["dids.error"] == "hl7.truncated_frame" and dead.value().startswith(b"MSH|")
    assert_still_serving(listener.port)


def test_a_value_too_long_for_any_item_is_ae(listener):
    message = hl7.parse(good_message().decode())
    message.segment("PID")[3][0][0] = "9" * 500  # an NHS number of 500 digits
    ack = exchange(listener.port, str(message).encode())
    assert msa(ack, 1) == "AE" and "longer than 100 characters" in msa(ack, 3)
    assert_still_serving(listener.port)


def test_an_event_kafka_refuses_gets_ar_and_a_dead_letter(listener):
    """Before, an event the broker refused for its size got no ACK and no dead letter, and an ordered
    RIS sent it again forever."""
    from tests.integration.kafka_tools import set_topic_config

    set_topic_config(listener.settings, listener.settings.topic(topics.RIS_EVENTS), "max.message.bytes", "64")
    # the partition leader may apply the new limit a moment after the controller: the first messages
    # may still be stored (AA); the first refused one must be AR with its copy dead-lettered
    for _ in range(40):
        payload = good_message()
        ack = exchange(listener.port, payload)
        if msa(ack, 1) != "AA":
            break
        time.sleep(0.25)
    assert msa(ack, 1) == "AR" and "refused the event itself" in msa(ack, 3)
    (dead,) = consume(listener.settings, topics.DLQ, 1)
    assert dead.value() == payload and headers_of(dead)["dids.error"] == "hl7.refused"


def _closed_within(sock: socket.socket, seconds: float) -> bool:
    sock.settimeout(seconds)
    try:
        return sock.recv(65536) == b""
    except TimeoutError:
        return False
    except OSError:
        return True
    finally:
        sock.settimeout(WAIT)


# --- who may send: allow-lists and TLS ---------------------------------------------------------


def _self_signed(directory) -> tuple[str, str]:
    cert, key = directory / "hl7.pem", directory / "hl7.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert)]
        + ["-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )
    key.chmod(0o600)
    return str(cert), str(key)


def test_over_tls_only_the_allowed_facility_is_accepted(settings_factory, service_factory, tmp_path):
    payload = good_message()
    site = hl7.parse(payload.decode()).extract_field("MSH", 1, 4)
    cert, key = _self_signed(tmp_path)
    settings, port, metrics_port = settings_factory(), free_port(), free_port()
    args = ["--listen", f"127.0.0.1:{port}", "--allow-from", "127.0.0.0/8,::1", "--allow-facility", f"XXX,{site}"]
    args += ["--tls-cert", cert, "--tls-key", key, "--metrics-port", str(metrics_port)]
    service_factory(settings, "hl7", *args, ready_port=metrics_port)
    client = ssl.create_default_context(cafile=cert)

    def tls_exchange(message: bytes) -> hl7.Message:
        with client.wrap_socket(connect(port), server_hostname="127.0.0.1") as sock:
            sock.sendall(frame(message))
            reply = read_frame(sock)
        assert reply is not None
        return hl7.parse(reply.decode("ascii"))

    assert msa(tls_exchange(payload), 1) == "AA"
    stranger = payload.replace(f"|{site}|".encode(), b"|RZZ99|", 1)
    ack = tls_exchange(stranger)
    assert msa(ack, 1) == "AR" and ack.extract_field("ERR", 1, 3, 1, 1) == "103"
    assert "MSH-4" in msa(ack, 3)
    (dead,) = consume(settings, topics.DLQ, 1)
    assert headers_of(dead)["dids.error"] == "hl7.unknown_source" and dead.value() == stranger
    with connect(port) as plain:  # MLLP in clear to a TLS port: no ACK, and the listener serves on
        _send_quietly(plain, frame(payload))
        assert read_frame(plain) is None
    assert msa(tls_exchange(good_message()), 1) == "AA"


def test_a_peer_outside_the_allowed_networks_is_closed_unread(settings_factory, service_factory):
    settings, port, metrics_port = settings_factory(), free_port(), free_port()
    args = ["--listen", f"127.0.0.1:{port}", "--allow-from", "192.0.2.0/24", "--metrics-port", str(metrics_port)]
    service_factory(settings, "hl7", *args, ready_port=metrics_port)
    with connect(port) as sock:
        _send_quietly(sock, frame(good_message()))
        assert read_frame(sock) is None
    assert metric(metrics_port, "dids_hl7_refused_connections_total", reason="not_allowed") == 1
    assert metric(metrics_port, "dids_hl7_messages_total") == 0


def test_an_hl7_message_and_an_extract_row_land_on_the_same_key_and_partition(listener, tmp_path):
    """The record key is one function (dids.kernel.keys): before, the listener used the untrimmed values,
    so an HL7 message with stray spaces could land on another partition and table entry than the extract's row."""
    from producers.extract.writer import write_csv
    from producers.generator import records
    from producers.submit import submit_file

    spaced = {"site_code_imaging": " RR801 ", "radiological_accession_num": "  ACC-KEY-1 "}
    event = next(events(SimulationConfig(seed=61, invalid_rate=0.0), now=NOW, limit=1))
    ack = exchange(listener.port, encode_message(dict(event, event_id=str(uuid.uuid4()), **spaced)))
    assert msa(ack, 1) == "AA"
    row = dict(next(iter(records(SimulationConfig(seed=61, invalid_rate=0.0), 1, NOW))), **spaced)
    path = tmp_path / "spaced.csv"
    write_csv([row], path)
    assert submit_file(listener.settings, path, period="2024-07", received=NOW).status == "accepted"
    hl7_event, chunk = consume(listener.settings, topics.RIS_EVENTS, 2)
    (extract_row,) = default_catalog().decode(chunk.value(), EXAMINATION_CHUNK)["events"]
    assert hl7_event.key() == event_key(extract_row).encode() == b"RR801|ACC-KEY-1"
    assert hl7_event.partition() == chunk.partition()  # the chunk goes to its records' partition
