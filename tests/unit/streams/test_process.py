"""Decoding and dead-lettering in the stream processor, without Faust or Kafka."""

from __future__ import annotations

from dids.kernel.keys import record_key
from schemas.catalog import default_catalog
from streams.process import DeadLetter, decode_events


def test_garbage_goes_to_the_dead_letter_topic_with_a_reason():
    out = decode_events(default_catalog(), b"\xc3\x01" + b"\x11" * 8 + b"junk")
    assert isinstance(out, DeadLetter)
    assert out.error == "UnknownSchemaError"
    headers = dict(out.headers("dids.ris.events", 1, 42))
    assert headers["dids.source.offset"] == b"42"
    assert headers["dids.error"] == b"UnknownSchemaError"


def test_not_avro_and_tombstones_are_dead_lettered():
    assert decode_events(default_catalog(), b"plain text").error == "NotSingleObjectError"
    assert decode_events(default_catalog(), None).error == "EmptyMessageError"


def test_record_key_trims_both_parts():
    assert record_key(" RR801", "ACC1 ") == "RR801|ACC1"
    assert record_key(None, "A") == "|A"
