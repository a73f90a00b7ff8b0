"""The catalog: chunks hold exactly the newest event schema; a writer's schema name is read from the header."""

from __future__ import annotations


def test_a_chunk_carries_exactly_the_newest_examination_event():
    """A new examination_event version needs a new examination_chunk version holding it: a chunk's events
    must decode as the same events a single message gives."""
    import json

    from fastavro.schema import to_parsing_canonical_form

    from schemas.catalog import EXAMINATION_CHUNK, EXAMINATION_EVENT, default_catalog

    catalog = default_catalog()
    items = catalog.latest(EXAMINATION_CHUNK).raw["fields"]
    events = next(f for f in items if f["name"] == "events")["type"]["items"]
    assert to_parsing_canonical_form(events) == to_parsing_canonical_form(catalog.latest(EXAMINATION_EVENT).raw)
    assert json.dumps(events, sort_keys=True) == json.dumps(catalog.latest(EXAMINATION_EVENT).raw, sort_keys=True)


def test_writer_name_reads_only_the_header():
    import pytest

    from schemas.catalog import EXAMINATION_CHUNK, default_catalog
    from schemas.codec import NotSingleObjectError, UnknownSchemaError

    catalog = default_catalog()
    chunk = catalog.encode(EXAMINATION_CHUNK, {"submission_id": "s", "chunk": 0, "events": []})
    assert catalog.writer_name(chunk[:10]) == EXAMINATION_CHUNK  # header only: the body is not read
    with pytest.raises(UnknownSchemaError):
        catalog.writer_name(b"\xc3\x01" + b"\x00" * 8)
    with pytest.raises(NotSingleObjectError):
        catalog.writer_name(b"{}")
