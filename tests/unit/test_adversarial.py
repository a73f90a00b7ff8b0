"""Hostile input, generated: the Avro decoder, the extract reader and the HL7 decoder and MLLP framing
never crash with anything but their own typed error, and never drop a record they were given."""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from producers.extract.errors import FileRejectError
from producers.extract.reader import open_extract
from producers.extract.writer import write_csv
from producers.generator import SimulationConfig, records
from producers.hl7.decode import decode_message
from producers.hl7.errors import DecodeError
from producers.hl7.mllp import END, START, Frame, FrameReader
from schemas.catalog import EXAMINATION_EVENT, default_catalog
from schemas.codec import CodecError

CATALOG = default_catalog()
GOOD = CATALOG.encode(
    EXAMINATION_EVENT,
    {
        "event_id": "e1",
        "event_type": "performed",
        "event_time": datetime(2026, 11, 2, tzinfo=timezone.utc),
        "received_time": datetime(2026, 11, 2, tzinfo=timezone.utc),
        "source": "fuzz",
        "submission_id": None,
        "submitter_org": None,
        "row_number": None,
        **next(records(SimulationConfig(seed=3), 1, datetime(2026, 11, 2, tzinfo=timezone.utc))),
    },
)
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# -- Avro single-object decoding ---------------------------------------------------------------


@FUZZ
@given(st.binary(max_size=600))
def test_any_bytes_decode_or_raise_a_codec_error(data):
    with contextlib.suppress(CodecError):
        assert isinstance(CATALOG.decode(data, EXAMINATION_EVENT), dict)


@FUZZ
@given(st.integers(min_value=0, max_value=len(GOOD) - 1), st.integers(min_value=0, max_value=255), st.booleans())
def test_a_damaged_event_decodes_or_raises_a_codec_error(position, byte, truncate):
    data = GOOD[:position] if truncate else GOOD[:position] + bytes([byte]) + GOOD[position + 1 :]
    with contextlib.suppress(CodecError):
        assert isinstance(CATALOG.decode(data, EXAMINATION_EVENT), dict)


# -- extract files -----------------------------------------------------------------------------


def _read_all(data: bytes, suffix: str):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"extract{suffix}"
        path.write_bytes(data)
        return list(open_extract(path).records())


@FUZZ
@given(st.binary(max_size=2000), st.sampled_from([".csv", ".xml", ".txt"]))
def test_any_file_is_read_or_rejected_as_a_file(data, suffix):
    try:
        rows = _read_all(data, suffix)
    except FileRejectError:
        return
    assert all(number >= 1 for number, _ in rows)


_FIELD_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r\n"), max_size=30
)


@FUZZ
@given(st.lists(st.lists(_FIELD_TEXT, min_size=18, max_size=18), min_size=1, max_size=20), st.booleans())
def test_every_record_written_is_read_back_unchanged(rows, header):
    names = list(next(records(SimulationConfig(seed=1), 1, datetime(2026, 11, 2, tzinfo=timezone.utc))))
    written = [dict(zip(names, values, strict=True)) for values in rows]
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "extract.csv"
        write_csv(written, path, header=header)
        try:
            read = list(open_extract(path).records())
        except FileRejectError as exc:  # a file-level reject names itself; nothing vanishes silently
            assert exc.code in ("DIDS075", "DIDS076")
            return
    assert [number for number, _ in read] == list(range(1, len(written) + 1))
    assert [raw for _, raw in read] == [{k: v if v != "" else None for k, v in w.items()} for w in written]


# -- HL7 v2 and MLLP ---------------------------------------------------------------------------


@FUZZ
@given(st.binary(max_size=800))
def test_any_bytes_decode_as_hl7_or_raise_a_decode_error(data):
    with contextlib.suppress(DecodeError):
        decode_message(data)


@FUZZ
@given(st.text(max_size=300))
def test_text_after_a_valid_msh_decodes_or_raises_a_decode_error(tail):
    payload = ("MSH|^~\\&|RIS|RAA|DIDS|NHS|20261102120000||ORM^O01|1|P|2.5.1\r" + tail).encode("utf-8")
    with contextlib.suppress(DecodeError):
        decode_message(payload)


_PAYLOAD = st.binary(min_size=1, max_size=200).map(lambda b: b.replace(START, b"").replace(b"\x1c", b"") or b"x")
_JUNK = st.binary(max_size=20).map(lambda b: b.replace(START, b""))


@FUZZ
@given(st.lists(st.tuples(_JUNK, _PAYLOAD), max_size=12), st.integers(min_value=1, max_value=64))
def test_every_frame_sent_comes_out_once_in_order_whatever_the_chunking(items, chunk):
    stream = b"".join(junk + START + payload + END for junk, payload in items)

    async def run():
        reader = asyncio.StreamReader()
        for i in range(0, len(stream), chunk):
            reader.feed_data(stream[i : i + chunk])
        reader.feed_eof()
        frames = FrameReader(reader, max_bytes=10_000, idle_timeout=None)
        out = []
        while (item := await frames.next()) is not None:
            out.append(item)
        return out

    got = asyncio.run(run())
    assert all(isinstance(g, Frame) for g in got)
    assert [g.payload for g in got] == [payload for _, payload in items]
