"""HL7 enhanced acknowledgements for real: the listener, the stream worker and the sink as subprocesses,
MLLP over TCP, the session's Kafka broker and ClickHouse engine.

A message asking for acknowledgements (MSH-15/16) gets a commit ACK (CA) once Kafka has it and then, on
the same connection, the application ACK with the stream's verdict. Every wait is bounded; nothing is
timed.

The listener stamps each message's receipt (the national submission time) with its own clock, so the
dates in these messages are that clock's UTC date: a test date on the submission day passes every
submission-window rule (DIDS049/051/055/066) whatever the day, the 1st of a month and 29 February
included.
"""

from __future__ import annotations

import copy
import functools
import json
import socket
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import hl7
import pytest
from confluent_kafka import Producer

from dids.kernel import topics
from dids.kernel.keys import event_key
from dids.kernel.ports import free_port
from dids.kernel.processes import Background
from dids.kernel.settings import Settings
from dids.kernel.topics import ensure_topics
from producers.generator import SimulationConfig, events
from producers.hl7.decode import decode_message
from producers.hl7.mapping import map_message
from producers.hl7.mllp import frame
from producers.hl7.writer import encode_message
from schemas.catalog import EXAMINATION_FEEDBACK, default_catalog
from schemas.codec import SchemaVersion, encode
from sinks.clickhouse import connect as clickhouse
from sinks.migrate import migrate
from tests.clock import NOW
from tests.integration.helpers import metric, poll

WAIT = 120.0
INVALID_NHS_NUMBER = "1234567890"  # on the published list of invalid numbers (DIDS001)


@dataclass
class Stack:
    settings: Settings
    port: int
    metrics_port: int
    listener: Background
    start_listener: object
    start_streams: object


@pytest.fixture
def stack(settings_factory, service_factory) -> Stack:
    """Topics and tables, and a listener; the stream worker and the sink start when a test says so."""
    settings = settings_factory()
    ensure_topics(settings)
    migrate(settings)
    port, metrics_port = free_port(), free_port()

    def start_listener() -> Background:
        args = ["--listen", f"127.0.0.1:{port}", "--idle-timeout", "30", "--verdict-timeout", "240"]
        return service_factory(settings, "hl7", *args, "--metrics-port", str(metrics_port), ready_port=metrics_port)

    def start_streams() -> None:
        service_factory(settings, "streams", ready_port=settings.streams_metrics_port)
        service_factory(settings, "sink", ready_port=settings.sink_metrics_port)

    return Stack(settings, port, metrics_port, start_listener(), start_listener, start_streams)


@pytest.fixture
def running(stack) -> Stack:
    stack.start_streams()
    return stack


# --- messages -------------------------------------------------------------------------------------


@functools.cache
def _examinations() -> list[dict]:
    """One event of each of many simulated examinations (distinct keys), made once: the generator is slow."""
    config = SimulationConfig(seed=17, providers=5, invalid_rate=0.0, restricted_rate=0.0)
    found: dict[str, dict] = {}
    for event in events(config, now=NOW, limit=400):
        found.setdefault(event_key(event), event)
    return list(found.values())


_next = iter(range(100000))


def message(accept: str = "AL", application: str = "AL", kind: str = "reported", **items: str) -> bytes:
    """An ORU^R01 (``kind`` reported) or ORM^O01 with MSH-15/16 set, dated on the listener's day."""
    today = datetime.now(UTC).date().isoformat()  # see the module docstring: the receipt's own day
    event = _examinations()[next(_next)]
    dated = {
        "diagnostic_test_request_date": today,
        "diag_test_request_rec_date": today,
        "diagnostic_test_date": today if kind != "requested" else None,
        "service_report_date": today if kind == "reported" else None,
    }
    event = dict(event, event_type=kind, event_id=str(uuid.uuid4()), event_time=datetime.now(UTC), **dated)
    event.update(items)
    fields = encode_message(event).decode().split("\r")
    msh = fields[0].split("|")
    msh[14], msh[15] = accept, application  # MSH-15, MSH-16
    return "\r".join(["|".join(msh), *fields[1:]]).encode()


def control_id(payload: bytes) -> str:
    return hl7.parse(payload.decode()).extract_field("MSH", 1, 10)


def event_ids(payload: bytes) -> list[str]:
    return [e["event_id"] for e in map_message(decode_message(payload).message, datetime.now(UTC))]


def record_key(payload: bytes) -> str:
    (event,) = map_message(decode_message(payload).message, datetime.now(UTC))
    return event_key(event)


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
    sock.settimeout(WAIT)
    return sock


class Reader:
    """Frames from one connection, in the order they arrive."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock, self.buffer = sock, b""

    def next(self) -> hl7.Message:
        while b"\x1c\x0d" not in self.buffer:
            chunk = self.sock.recv(65536)
            assert chunk, "the listener closed the connection"
            self.buffer += chunk
        start, end = self.buffer.index(b"\x0b"), self.buffer.index(b"\x1c\x0d")
        reply, self.buffer = self.buffer[start + 1 : end], self.buffer[end + 2 :]
        return hl7.parse(reply.decode("ascii"))


def msa(ack: hl7.Message) -> tuple[str, str]:
    return ack.extract_field("MSA", 1, 1), ack.extract_field("MSA", 1, 2)


def errs(ack: hl7.Message) -> list[dict[str, str]]:
    """Each ERR: code (ERR-3.1), location (ERR-2), severity (ERR-4), message (ERR-8)."""
    found = []
    for segment in ack.segments("ERR") if any(str(s[0]) == "ERR" for s in ack) else []:
        found.append(
            {
                "code": segment.extract_field(1, 3, 1, 1),
                "location": str(segment(2)),
                "severity": str(segment(4)),
                "message": str(segment(8)),
            }
        )
    return found


# --- the done-when tests ----------------------------------------------------------------------------


def test_al_gets_ca_then_the_verdict_with_the_rules_it_broke(running):
    invalid = message(nhs_number=INVALID_NHS_NUMBER)
    valid = message()
    with connect(running.port) as sock:
        replies = Reader(sock)
        sock.sendall(frame(invalid))
        assert msa(replies.next()) == ("CA", control_id(invalid))
        rejected = replies.next()
        assert msa(rejected) == ("AE", control_id(invalid))
        assert "DIDS001" in rejected.extract_field("MSA", 1, 3)
        (nhs,) = [e for e in errs(rejected) if e["code"] == "DIDS001"]
        assert nhs["location"] == "PID^1^3" and nhs["severity"] == "E" and "NHS number" in nhs["message"]
        assert INVALID_NHS_NUMBER not in str(rejected)  # rule codes and wording, never the value

        sock.sendall(frame(valid))
        assert msa(replies.next()) == ("CA", control_id(valid))
        accepted = replies.next()
        assert msa(accepted) == ("AA", control_id(valid))
        assert all(e["severity"] == "W" for e in errs(accepted))  # warnings may come with an AA, errors not

    # the acknowledgements say what the warehouse holds
    client = clickhouse(running.settings)
    keys = {record_key(invalid), record_key(valid)}
    assert poll(lambda: client.command("SELECT count() FROM rejects") + _accepted(client), 2, WAIT) == 2
    ((key, codes),) = client.query("SELECT record_key, rejects FROM rejects").result_rows
    assert key == record_key(invalid) and "DIDS001" in codes
    assert client.command("SELECT record_key FROM examinations FINAL") == record_key(valid)
    assert keys == {key, record_key(valid)}
    assert metric(running.metrics_port, "dids_hl7_application_acks_total", 'outcome="AE"') == 1
    assert metric(running.metrics_port, "dids_hl7_application_acks_total", 'outcome="AA"') == 1


def _accepted(client) -> int:
    return client.command("SELECT count() FROM examinations FINAL")


def test_er_sends_the_application_ack_only_on_failure_and_a_pending_order_is_judged(running):
    quiet = message(accept="AL", application="ER")
    failing = message(accept="AL", application="ER", nhs_number=INVALID_NHS_NUMBER)
    order = message(kind="requested", nhs_number=INVALID_NHS_NUMBER)  # ORM^O01 NW: no test date yet
    good_order = message(kind="requested")
    with connect(running.port) as sock:
        replies = Reader(sock)
        sock.sendall(frame(quiet))
        assert msa(replies.next()) == ("CA", control_id(quiet))
        # the verdict came and ER said not to send it (AA): counted, and nothing was written
        assert poll(lambda: _acks(running, "not_asked"), 1, WAIT) == 1
        sock.sendall(frame(failing))
        assert msa(replies.next()) == ("CA", control_id(failing))  # not an application ACK of `quiet`
        assert msa(replies.next()) == ("AE", control_id(failing))

        # an order not yet performed: the rules its items already fail, without DIDS050 (no test date yet)
        sock.sendall(frame(order))
        assert msa(replies.next()) == ("CA", control_id(order))
        pending = replies.next()
        assert msa(pending) == ("AE", control_id(order))
        codes = {e["code"] for e in errs(pending)}
        assert "DIDS001" in codes and "DIDS050" not in codes
        sock.sendall(frame(good_order))
        assert msa(replies.next()) == ("CA", control_id(good_order))
        assert msa(replies.next()) == ("AA", control_id(good_order))
    assert _acks(running, "not_asked") == 1 and _acks(running, "AE") == 2 and _acks(running, "AA") == 1


def _closed(sock: socket.socket) -> bool:
    try:
        return sock.recv(65536) == b""
    except ConnectionResetError:
        return True


def _acks(stack: Stack, outcome: str) -> float:
    return metric(stack.metrics_port, "dids_hl7_application_acks_total", f'outcome="{outcome}"')


def test_two_connections_interleaving_each_get_their_own_acknowledgements(running):
    first = [message(nhs_number=INVALID_NHS_NUMBER), message()]
    second = [message(), message(nhs_number=INVALID_NHS_NUMBER)]
    with connect(running.port) as a, connect(running.port) as b:
        for one, two in zip(first, second, strict=True):
            a.sendall(frame(one))
            b.sendall(frame(two))
        got = {}
        for sock, sent in ((a, first), (b, second)):
            replies = Reader(sock)
            frames = [msa(replies.next()) for _ in range(2 * len(sent))]
            got[sock] = frames
            # commits in the order sent; each application ACK after its own commit
            commits = [f for f in frames if f[0] == "CA"]
            assert commits == [("CA", control_id(p)) for p in sent]
            for payload in sent:
                assert frames.index(("CA", control_id(payload))) < next(
                    i for i, f in enumerate(frames) if f[0] in ("AA", "AE") and f[1] == control_id(payload)
                )
        expected_a = {("AE", control_id(first[0])), ("AA", control_id(first[1]))}
        expected_b = {("AA", control_id(second[0])), ("AE", control_id(second[1]))}
        assert {f for f in got[a] if f[0] != "CA"} == expected_a
        assert {f for f in got[b] if f[0] != "CA"} == expected_b


def test_a_listener_restart_while_an_application_ack_is_pending_loses_nothing(stack):
    """The worker is not running yet, so the first listener stops with the verdict still pending; the
    sender, having no application ACK, resends to the restarted listener; the stream recognises the
    duplicate, and the resend gets its verdict."""
    payload = message(nhs_number=INVALID_NHS_NUMBER)
    with connect(stack.port) as sock:
        sock.sendall(frame(payload))
        assert msa(Reader(sock).next()) == ("CA", control_id(payload))
        stack.listener.stop(timeout=30)  # SIGTERM while the application ACK waits
        assert stack.listener.popen.returncode == 0
        assert _closed(sock)  # without an application ACK
    stack.listener = stack.start_listener()
    with connect(stack.port) as sock:
        replies = Reader(sock)
        sock.sendall(frame(payload))  # the sender's resend: the same message, the same MSH-10
        assert msa(replies.next()) == ("CA", control_id(payload))
        stack.start_streams()
        answer = replies.next()
        assert msa(answer) == ("AE", control_id(payload))
        assert [e["location"] for e in errs(answer) if e["code"] == "DIDS001"] == ["PID^1^3"]

    (event_id,) = event_ids(payload)
    settings = stack.settings
    assert [e for e in _events(settings) if e == event_id] == [event_id, event_id]  # both copies in Kafka
    verdicts = [v for v in _feedback(settings) if v["event_id"] == event_id]
    assert [v["duplicate"] for v in verdicts] == [False, True]  # the resend was recognised
    assert all(v["verdict"] == "rejected" for v in verdicts)
    client = clickhouse(settings)
    key = record_key(payload)
    assert poll(lambda: client.command(f"SELECT count() FROM rejects WHERE record_key = '{key}'") > 0, True, WAIT)
    assert client.command(f"SELECT uniqExact(event_id) FROM rejects WHERE record_key = '{key}'") == 1


# --- hostile input ------------------------------------------------------------------------------------


def test_bad_msh_15_and_16_values_are_refused_and_dead_lettered(stack):
    cases = [("XX", "AL", "MSH-15"), ("al", "AL", "MSH-15"), ("AL", "AL^ER", "MSH-16"), ("AL", "Z" * 300, "MSH-16")]
    with connect(stack.port) as sock:
        replies = Reader(sock)
        for accept, application, field in cases:
            payload = message(accept=accept, application=application)
            sock.sendall(frame(payload))
            ack = replies.next()
            assert msa(ack) == ("AR", control_id(payload))
            assert field in ack.extract_field("MSA", 1, 3) and "not AL, NE, ER or SU" in ack.extract_field("MSA", 1, 3)
            (err,) = errs(ack)
            assert err["code"] == "103" and err["location"] == f"{field.replace('-', '^1^')}"
        # the HL7 null in both is original mode: a plain AA
        plain = message(accept='""', application='""')
        sock.sendall(frame(plain))
        assert msa(replies.next()) == ("AA", control_id(plain))
        # NE/NE: enhanced mode asking for nothing: no answer; the next message is still served
        silent, after = message(accept="NE", application="NE"), message(accept="AL", application="NE")
        sock.sendall(frame(silent) + frame(after))
        assert msa(replies.next()) == ("CA", control_id(after))
    dead = _messages(stack.settings, topics.DLQ, len(cases))
    assert sorted(dict(m.headers())["dids.error"] for m in dead) == [b"hl7.ack_mode"] * len(cases)
    assert metric(stack.metrics_port, "dids_hl7_messages_total", 'ack="AR"') == len(cases)


def test_forged_or_malformed_feedback_changes_no_acknowledgement(stack):
    """With the worker stopped, a pending message's event gets forged verdicts first: bytes that are not
    Avro, a record with an extra field (a schema this release does not know), a record of the right
    schema with a code that is no DIDS code, and a well-formed verdict for an event nobody waits for.
    None is used; the real verdict, when the worker starts, is."""
    payload = message()
    (event_id,) = event_ids(payload)
    with connect(stack.port) as sock:
        replies = Reader(sock)
        sock.sendall(frame(payload))
        assert msa(replies.next()) == ("CA", control_id(payload))
        forged = {
            "event_id": event_id,
            "verdict": "rejected",
            "duplicate": False,
            "processed_time": datetime.now(UTC),
            "failures": [{"code": "DIDS001", "severity": "error", "fields": ["nhs_number"], "description": "FORGED"}],
        }
        catalog = default_catalog()
        _produce(
            stack.settings,
            [
                b"not avro at all",
                json.dumps({"event_id": event_id, "verdict": "rejected"}).encode(),
                _with_extra_field(dict(forged, nhs_number="9434765919")),
                catalog.encode(EXAMINATION_FEEDBACK, dict(forged, failures=[dict(forged["failures"][0], code="X|Y")])),
                catalog.encode(EXAMINATION_FEEDBACK, dict(forged, event_id=str(uuid.uuid4()))),
            ],
        )
        malformed = 'outcome="malformed"'
        assert poll(lambda: metric(stack.metrics_port, "dids_hl7_feedback_messages_total", malformed), 4, WAIT) == 4
        unknown = 'outcome="unknown"'
        assert poll(lambda: metric(stack.metrics_port, "dids_hl7_feedback_messages_total", unknown), 1, WAIT) == 1
        stack.start_streams()
        answer = replies.next()
        assert msa(answer) == ("AA", control_id(payload))  # the worker's verdict, not the forged one
        assert "FORGED" not in str(answer) and "9434765919" not in str(answer)
    log = stack.listener.log_file.read_text(errors="replace")
    assert "ignored feedback" in log and "9434765919" not in log and "FORGED" not in log


def _with_extra_field(record: dict) -> bytes:
    """Single-object Avro of a look-alike schema with one field more than examination_feedback."""
    raw = copy.deepcopy(default_catalog().latest(EXAMINATION_FEEDBACK).raw)
    raw["fields"].append({"name": "nhs_number", "type": "string"})
    return encode(SchemaVersion.from_dict(EXAMINATION_FEEDBACK, 99, raw), record)


# --- Kafka helpers ------------------------------------------------------------------------------------


def _produce(settings: Settings, values: list[bytes]) -> None:
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap})
    for value in values:
        producer.produce(settings.topic(topics.FEEDBACK), key=b"forged", value=value)
    assert producer.flush(30) == 0


def _messages(settings: Settings, topic: str, n: int) -> list:
    from tests.integration.test_hl7 import consume

    return consume(settings, topic, n)


def _events(settings: Settings) -> list[str]:
    catalog = default_catalog()
    found = _messages(settings, topics.RIS_EVENTS, 2)
    return [catalog.decode(m.value(), "examination_event")["event_id"] for m in found]


def _feedback(settings: Settings) -> list[dict]:
    catalog = default_catalog()
    records = [catalog.decode(m.value(), EXAMINATION_FEEDBACK) for m in _messages(settings, topics.FEEDBACK, 2)]
    return sorted(records, key=lambda r: r["duplicate"])


# --- the measurement ----------------------------------------------------------------------------------


def test_hl7_bench_measures_every_acknowledgement_at_50_messages_a_second(running):
    """`dids hl7-bench`'s measurement against the real stack: prints the numbers, asserts only that every
    message got both acknowledgements (a timing is reported, never asserted)."""
    from producers.hl7.ack_bench import AckBenchConfig, run_ack_bench

    # 5 s, not 20: the rate is what loads the stack (a message every 20 ms, about one a batch), and
    # 250 messages go through the same path and acknowledgements as 1000 did
    result = run_ack_bench(AckBenchConfig(port=running.port, rate=50.0, seconds=5.0, wait=120.0))
    print("\nhl7-bench:", json.dumps(result))
    assert result["messages"] == 250 and result["refused"] == 0
    assert result["commit_acks"] == 250 and result["missing_application_acks"] == 0
    assert sum(result["application_acks"].values()) == 250
    assert 0 < result["application_ms"]["p50"] <= result["application_ms"]["p99"] <= result["application_ms"]["max"]


def test_original_mode_may_wait_for_the_verdict_bounded(stack, service_factory):
    """`--ack-wait`: the one original-mode ACK carries the verdict when it comes in time, and is a plain
    AA (Kafka has the message) when it does not."""

    def listener(wait: str) -> int:
        port, metrics_port = free_port(), free_port()
        args = ["--listen", f"127.0.0.1:{port}", "--ack-wait", wait, "--metrics-port", str(metrics_port)]
        service_factory(stack.settings, "hl7", *args, ready_port=metrics_port)
        return port

    short, long = listener("2"), listener("30")
    late = message(accept="", application="", nhs_number=INVALID_NHS_NUMBER)
    with connect(short) as sock:  # no worker yet: no verdict within 2 s
        sock.sendall(frame(late))
        answer = Reader(sock).next()
        assert msa(answer) == ("AA", control_id(late)) and errs(answer) == []

    stack.start_streams()
    warm = message()  # the worker's first batch also warms it up: wait for its verdict before timing anything
    with connect(stack.port) as sock:
        replies = Reader(sock)
        sock.sendall(frame(warm))
        assert [msa(replies.next())[0] for _ in range(2)] == ["CA", "AA"]
    invalid, valid = message(accept="", application="", nhs_number=INVALID_NHS_NUMBER), message("", "")
    with connect(long) as sock:
        replies = Reader(sock)
        sock.sendall(frame(invalid))
        rejected = replies.next()
        assert msa(rejected) == ("AE", control_id(invalid))  # one ACK, no CA before it
        assert [e["location"] for e in errs(rejected) if e["code"] == "DIDS001"] == ["PID^1^3"]
        sock.sendall(frame(valid))
        accepted = replies.next()
        assert msa(accepted) == ("AA", control_id(valid))
        assert "|NE|NE" not in str(accepted.segment("MSH"))  # an original-mode ACK: no MSH-15/16
