"""The national data opt-out list against the real broker and warehouse: `dids optout add / remove / load /
count` publish keyed hashes only, the sink copies them into ClickHouse, and a file with a bad line
publishes nothing and names the line."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from dids.cli.local_stack import settings_env
from dids.kernel.pseudonyms import DEMO_KEY, Pseudonymiser
from dids.kernel.topics import OPTOUT, ensure_topics
from sinks.clickhouse import connect
from sinks.migrate import migrate
from tests.integration.helpers import poll
from tests.integration.kafka_tools import consume

VALID = ["9434765919", "4010232137", "943 476 5870"]  # modulus 11 valid; the last with spaces


def dids(settings, *args, stdin=None):
    return subprocess.run(
        [sys.executable, "-m", "dids", *args],
        env=os.environ | settings_env(settings),
        capture_output=True,
        text=True,
        input=stdin,
        timeout=120,
    )


@pytest.fixture
def stack(settings_factory, service_factory):
    settings = settings_factory()
    ensure_topics(settings)
    migrate(settings)
    service_factory(settings, "sink", ready_port=settings.sink_metrics_port)
    return settings


def listed(settings) -> int:
    return connect(settings).command("SELECT count() FROM opted_out_persons")


def test_add_load_remove_and_count_keep_hashes_only(stack, tmp_path):
    added = dids(stack, "optout", "add", VALID[0], VALID[1])
    assert added.returncode == 0, added.stderr
    assert "2 person(s) added to the national data opt-out list" in added.stdout
    assert poll(lambda: listed(stack), 2, 60) == 2

    # the form a list is handed over in: a byte-order mark, CRLF line ends, comments, blank lines, a
    # number written with spaces, and a person already listed
    listing = tmp_path / "optouts.txt"
    listing.write_bytes(b"\xef\xbb\xbf# national list 2026-11\r\n" + f"{VALID[0]}\r\n\r\n{VALID[2]}\r\n".encode())
    loaded = dids(stack, "optout", "load", str(listing))
    assert loaded.returncode == 0, loaded.stderr
    assert "2 person(s) added" in loaded.stdout and "from 2 NHS number(s)" in loaded.stdout
    assert poll(lambda: listed(stack), 3, 60) == 3

    removed = dids(stack, "optout", "remove", "401-023-2137")
    assert removed.returncode == 0 and "1 person(s) removed from" in removed.stdout
    assert poll(lambda: listed(stack), 2, 60) == 2
    counted = dids(stack, "optout", "count")
    assert counted.returncode == 0 and counted.stdout.startswith("2 person(s) on the national data opt-out list")
    assert "not yet in the warehouse" not in counted.stdout

    # only keyed hashes, on the topic and in the table; no number in any output
    pseudonymiser = Pseudonymiser(DEMO_KEY)
    expected = {pseudonymiser.person_id(n) for n in (VALID[0], VALID[2])}
    assert {r[0] for r in connect(stack).query("SELECT person_id FROM opted_out_persons").result_rows} == expected
    messages = consume(stack, stack.topic(OPTOUT), 4, settle=0.5)
    raw = b"".join((m.key() or b"") + (m.value() or b"") for m in messages)
    for number in VALID:
        digits = number.replace(" ", "").encode()
        assert digits not in raw
        assert all(digits.decode() not in r.stdout + r.stderr for r in (added, loaded, removed, counted))


def test_count_says_when_changes_are_not_in_the_warehouse_yet(settings_factory):
    settings = settings_factory()
    ensure_topics(settings)
    migrate(settings)  # no sink: the change stays on the topic
    assert dids(settings, "optout", "add", VALID[0]).returncode == 0
    counted = dids(settings, "optout", "count")
    assert counted.returncode == 0
    assert "0 person(s) on the national data opt-out list" in counted.stdout
    assert "1 change(s) on dids.optout not yet in the warehouse" in counted.stdout


@pytest.mark.parametrize(
    ("content", "bad_lines"),
    [
        (f"{VALID[0]}\n9434765918\n{VALID[1]}\nnot a number\n", [2, 4]),  # wrong check digit, words
        (f"{VALID[0]}\n" + "9" * 5000 + f"\n{VALID[1]}\n", [2]),  # an overlong line
        (f"{VALID[0]}\n".encode() + b"\xff\xfe94347\x00\n", [2]),  # bytes that are not text, a NUL
        ("# only a comment\n94347659190\n", [2]),  # eleven digits
    ],
)
def test_a_bad_line_in_a_loaded_file_is_named_and_nothing_is_published(settings_factory, tmp_path, content, bad_lines):
    settings = settings_factory()
    ensure_topics(settings)
    listing = tmp_path / "optouts.txt"
    listing.write_bytes(content if isinstance(content, bytes) else content.encode())
    result = dids(settings, "optout", "load", str(listing))
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"{len(bad_lines)} invalid NHS number(s)" in result.stderr
    assert ", ".join(f"{listing} line {n}" for n in bad_lines) in result.stderr
    assert "nothing was published" in result.stderr and "Traceback" not in result.stderr
    assert VALID[0] not in result.stderr
    assert consume(settings, settings.topic(OPTOUT), 0, timeout=5, settle=2.0) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["optout", "add"], "Missing argument"),
        (["optout", "add", "9434765918"], "invalid NHS number(s) (10 digits, modulus 11 check) at argument 1"),
        (["optout", "load", "/nonexistent/list.txt"], "does not exist"),
        (["optout", "load", "/dev/null"], "is not a regular file"),
        (["optout", "load", "EMPTY"], "holds no NHS number"),
    ],
)
def test_bad_arguments_say_what_is_wrong(settings_factory, tmp_path, args, message):
    settings = settings_factory()
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing yet\n\n")
    result = dids(settings, *[str(empty) if a == "EMPTY" else a for a in args])
    assert result.returncode != 0
    assert message in result.stderr and "Traceback" not in result.stderr


def test_a_full_list_replaces_the_one_held(stack, tmp_path):
    assert dids(stack, "optout", "add", VALID[0], VALID[1]).returncode == 0
    assert poll(lambda: listed(stack), 2, 60) == 2
    listing = tmp_path / "national.txt"
    listing.write_text(f"{VALID[1]}\n{VALID[2]}\n")  # VALID[0] opted back in since the last list
    replaced = dids(stack, "optout", "load", str(listing), "--replace")
    assert replaced.returncode == 0, replaced.stderr
    assert (
        "2 person(s) added" in replaced.stdout and "1 person(s) no longer on the list taken off it" in replaced.stdout
    )
    pseudonymiser = Pseudonymiser(DEMO_KEY)
    expected = {pseudonymiser.person_id(n) for n in VALID[1:]}
    rows = lambda: {r[0] for r in connect(stack).query("SELECT person_id FROM opted_out_persons").result_rows}  # noqa: E731
    assert poll(rows, expected, 60) == expected


def test_a_full_list_waits_for_changes_still_on_their_way(settings_factory, tmp_path):
    settings = settings_factory()
    ensure_topics(settings)
    migrate(settings)  # no sink: the first change stays on the topic
    assert dids(settings, "optout", "add", VALID[0]).returncode == 0
    listing = tmp_path / "national.txt"
    listing.write_text(f"{VALID[1]}\n")
    replaced = dids(settings, "optout", "load", str(listing), "--replace")
    assert replaced.returncode == 1 and "the current list is not known" in replaced.stderr
    assert len(consume(settings, settings.topic(OPTOUT), 1, timeout=10, settle=2.0)) == 1  # nothing more sent
