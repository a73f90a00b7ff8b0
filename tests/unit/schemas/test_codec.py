"""Single-object encoding and the schema catalog, without Kafka."""

from __future__ import annotations

import pytest

from schemas.catalog import EXAMINATION_EVENT, Catalog, default_catalog
from schemas.codec import (
    MAGIC,
    CorruptMessageError,
    NotSingleObjectError,
    SchemaVersion,
    UnknownSchemaError,
    encode,
)
from schemas.compatibility import sample


def test_header_is_magic_and_little_endian_crc64_fingerprint():
    # the Avro specification's own example: the fingerprint of "int" is 0x7275d51a3f395c8f
    schema = SchemaVersion.from_dict("int", 1, {"type": "int"})
    assert schema.fingerprint == bytes.fromhex("8f5c393f1ad57572")
    assert encode(schema, 3) == MAGIC + schema.fingerprint + b"\x06"


@pytest.mark.parametrize("name", default_catalog().names())
def test_round_trip_latest_version(name):
    catalog = default_catalog()
    record = sample(catalog.latest(name).raw)
    assert catalog.decode(catalog.encode(name, record)) == record


def test_every_published_version_is_readable_by_the_latest():
    catalog = default_catalog()
    for name in catalog.names():
        latest = catalog.latest(name)
        for version in catalog.versions(name):
            record = sample(version.raw)
            decoded = catalog.decode(encode(version, record), name)
            assert set(decoded) == {f["name"] for f in latest.raw["fields"]}
            for key, value in record.items():
                if key in decoded:
                    assert decoded[key] == value, (name, version.version, key)


def test_a_newer_writer_version_resolves_to_the_reader():
    base = default_catalog().latest(EXAMINATION_EVENT)
    newer_raw = dict(
        base.raw, fields=[*base.raw["fields"], {"name": "extra", "type": ["null", "string"], "default": None}]
    )
    v1 = SchemaVersion.from_dict(EXAMINATION_EVENT, 1, base.raw)
    v2 = SchemaVersion.from_dict(EXAMINATION_EVENT, 2, newer_raw)
    catalog = Catalog([v1, v2])
    record = sample(base.raw)
    # old data read by the new reader: the new field takes its default
    assert catalog.decode(encode(v1, record))["extra"] is None
    assert v1.fingerprint != v2.fingerprint


def test_unknown_fingerprint_is_a_typed_error():
    catalog = default_catalog()
    data = catalog.encode(EXAMINATION_EVENT, sample(catalog.latest(EXAMINATION_EVENT).raw))
    forged = MAGIC + b"\x00" * 8 + data[10:]
    with pytest.raises(UnknownSchemaError, match="unknown writer schema fingerprint 0000000000000000"):
        catalog.decode(forged)


@pytest.mark.parametrize("data", [b"", b"\xc3", b'{"json": 1}', b"\x00\x00\x00\x00\x01plain-confluent"])
def test_not_single_object_framing(data):
    with pytest.raises(NotSingleObjectError):
        default_catalog().decode(data)


def test_truncated_and_trailing_bodies_are_corrupt():
    catalog = default_catalog()
    data = catalog.encode(EXAMINATION_EVENT, sample(catalog.latest(EXAMINATION_EVENT).raw))
    with pytest.raises(CorruptMessageError):
        catalog.decode(data[: len(data) // 2])
    with pytest.raises(CorruptMessageError, match="trailing"):
        catalog.decode(data + b"\x00\x01")


def test_encoding_a_record_that_does_not_fit_is_a_clear_error():
    from schemas.codec import CodecError

    with pytest.raises(CodecError, match="does not fit schema examination_event"):
        default_catalog().encode(EXAMINATION_EVENT, {"event_id": 1})


def test_a_number_too_big_for_an_avro_long_is_a_codec_error_not_an_overflow():
    from schemas.codec import CodecError

    catalog = default_catalog()
    record = dict(sample(catalog.latest(EXAMINATION_EVENT).raw), event_time=2**70)
    with pytest.raises(CodecError, match="does not fit schema examination_event"):
        catalog.encode(EXAMINATION_EVENT, record)
