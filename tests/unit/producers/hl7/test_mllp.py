"""MLLP framing edge cases, on a real asyncio StreamReader fed chunk by chunk."""

from __future__ import annotations

import asyncio

import pytest

from producers.hl7.mllp import READ_SIZE, Frame, FrameReader, FrameTimeout, IdleTimeout, Oversized, Truncated, frame

MSG_A = b"MSH|^~\\&|A|B|C|D|20240101||ORM^O01|1|P|2.4\rPID|1"
MSG_B = b"MSH|^~\\&|A|B|C|D|20240101||ORU^R01|2|P|2.4\rOBR|1"


def read_all(chunks: list[bytes], max_bytes: int = 1 << 20, idle: float | None = None, eof: bool = True) -> list:
    """Every item FrameReader yields for ``chunks`` arriving one read at a time, then EOF."""

    async def run() -> tuple[list, int]:
        reader = asyncio.StreamReader()
        frames = FrameReader(reader, max_bytes, idle)

        async def feed() -> None:
            for chunk in chunks:
                reader.feed_data(chunk)
                await asyncio.sleep(0)  # let the reader see each chunk on its own
            if eof:
                reader.feed_eof()

        feeder = asyncio.create_task(feed())
        items = []
        while True:
            item = await frames.next()
            items.append(item)
            if item is None or isinstance(item, Oversized):
                break
        await feeder
        return items, frames.skipped

    items, skipped = asyncio.run(run())
    read_all.skipped = skipped
    return items


def test_one_frame_then_clean_eof():
    assert read_all([frame(MSG_A)]) == [Frame(MSG_A), None]


def test_frame_split_across_reads_including_between_fs_and_cr():
    data = frame(MSG_A)
    chunks = [data[:1], data[1:10], data[10:-1], data[-1:]]
    assert read_all(chunks) == [Frame(MSG_A), None]


def test_byte_by_byte():
    data = frame(MSG_A) + frame(MSG_B)
    assert read_all([data[i : i + 1] for i in range(len(data))]) == [Frame(MSG_A), Frame(MSG_B), None]


def test_two_messages_in_one_read():
    assert read_all([frame(MSG_A) + frame(MSG_B)]) == [Frame(MSG_A), Frame(MSG_B), None]


def test_junk_before_start_block_is_skipped_and_counted():
    items = read_all([b"GET / HTTP/1.1\r\n\r\n" + frame(MSG_A), b"\r\n\x00junk", frame(MSG_B)])
    assert items == [Frame(MSG_A), Frame(MSG_B), None]
    assert read_all.skipped == len(b"GET / HTTP/1.1\r\n\r\n") + len(b"\r\n\x00junk")


def test_junk_only_connection_yields_nothing():
    assert read_all([b"hello\r\n" * 100]) == [None]
    assert read_all.skipped == 700


def test_truncated_frame_at_eof():
    assert read_all([b"\x0b" + MSG_A[:20]]) == [Truncated(MSG_A[:20]), None]


def test_frame_without_cr_after_fs_at_eof_is_truncated():
    assert read_all([b"\x0b" + MSG_A + b"\x1c"]) == [Truncated(MSG_A + b"\x1c"), None]


def test_start_block_inside_a_frame_abandons_the_partial_frame():
    items = read_all([b"\x0b" + MSG_A[:15], frame(MSG_B)])
    assert items == [Truncated(MSG_A[:15]), Frame(MSG_B), None]


def test_empty_frame():
    assert read_all([frame(b"")]) == [Frame(b""), None]


def test_oversized_frame_stops_buffering():
    limit = 100_000
    chunk = b"x" * 50_000
    items = read_all([b"\x0b" + MSG_A] + [chunk] * 200, max_bytes=limit)  # 10 MB offered
    assert len(items) == 1 and isinstance(items[0], Oversized)
    over = items[0]
    assert limit < over.size <= limit + READ_SIZE  # read at most one chunk past the limit
    assert over.prefix.startswith(MSG_A) and len(over.prefix) <= 64 * 1024


def test_frame_exactly_at_the_limit_is_accepted():
    payload = b"y" * 1000
    assert read_all([frame(payload)], max_bytes=1000) == [Frame(payload), None]


def test_idle_timeout_when_nothing_arrives():
    with pytest.raises(IdleTimeout):
        read_all([], idle=0.05, eof=False)


def test_idle_timeout_inside_a_frame():
    with pytest.raises(IdleTimeout):
        read_all([b"\x0b" + MSG_A[:5]], idle=0.05, eof=False)


def test_a_frame_trickling_in_past_its_deadline_is_cut_off():
    """One byte every 50 ms never trips a 1 s idle timeout; the 0.3 s frame deadline still ends the frame."""

    async def run():
        reader = asyncio.StreamReader()
        frames = FrameReader(reader, 1 << 20, idle_timeout=1.0, frame_deadline=0.3)

        async def trickle():
            reader.feed_data(b"\x0b" + MSG_A[:10])
            for byte in MSG_A[10:]:
                await asyncio.sleep(0.05)
                reader.feed_data(bytes([byte]))

        feeder = asyncio.create_task(trickle())
        try:
            await frames.next()
        except FrameTimeout as exc:
            return exc.partial
        finally:
            feeder.cancel()
        return None

    partial = asyncio.run(run())
    assert partial is not None and partial.startswith(MSG_A[:10]) and len(partial) < len(MSG_A)


def test_a_frame_within_its_deadline_is_whole():
    items = read_all([b"\x0b" + MSG_A + b"\x1c\x0d"], idle=1.0)
    assert items[0] == Frame(MSG_A)
