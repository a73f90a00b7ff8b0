"""MLLP framing over asyncio streams: ``<VT> message <FS><CR>`` (0x0b ... 0x1c 0x0d).

``FrameReader.next()`` returns one of:

* ``Frame(payload)``: a complete message.
* ``Oversized(prefix, size)``: the frame grew past ``max_bytes`` without an end block. Nothing more is
  buffered; the caller answers AR and closes the connection (the rest of the frame cannot be told
  apart from the next one without reading it).
* ``Truncated(payload)``: the peer closed the connection inside a frame.
* ``None``: the peer closed the connection between frames.

Bytes outside a frame (before a start block) are skipped and counted in ``skipped``; only their count
is logged, never their content. A start block inside a frame abandons the partial frame as
``Truncated`` and starts a new one (a sender that gave up and resent). ``IdleTimeout`` is raised when
no byte arrives for ``idle_timeout`` seconds, ``FrameTimeout`` (with the partial frame) when a frame is
not complete ``frame_deadline`` seconds after its start block, however slowly its bytes keep coming.
Memory per connection stays below ``max_bytes`` plus one read.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

log = logging.getLogger(__name__)

START = b"\x0b"
END = b"\x1c\x0d"
READ_SIZE = 64 * 1024
PREFIX_BYTES = 64 * 1024  # what an Oversized frame keeps: enough for MSH and the first segments
# a frame's dead-letter copy, below librdkafka's default message.max.bytes (1,000,000) with headers;
# the frame limit may not exceed it
DLQ_MAX_BYTES = 900_000


@dataclass(frozen=True)
class Frame:
    payload: bytes


@dataclass(frozen=True)
class Oversized:
    prefix: bytes
    size: int  # bytes seen so far (at least max_bytes + 1)


@dataclass(frozen=True)
class Truncated:
    payload: bytes


class IdleTimeout(Exception):
    """No byte from the peer for the idle timeout."""


class FrameTimeout(IdleTimeout):
    """A frame started and did not end within the frame deadline (a peer sending a byte now and then)."""

    def __init__(self, message: str, partial: bytes) -> None:
        super().__init__(message)
        self.partial = partial


def frame(payload: bytes) -> bytes:
    """Wrap one message for sending."""
    return START + payload + END


class FrameReader:
    def __init__(
        self,
        reader: asyncio.StreamReader,
        max_bytes: int,
        idle_timeout: float | None,
        frame_deadline: float | None = None,
    ) -> None:
        self._reader = reader
        self._max = max_bytes
        self._idle = idle_timeout
        self._deadline = frame_deadline  # seconds from a start block to its end block
        self._frame_started = 0.0
        self._buf = bytearray()
        self._in_frame = False
        self._scanned = 0  # bytes of the current frame already searched for the end block
        self.skipped = 0  # bytes outside frames, over the connection's life
        self._junk = 0  # the current run of them, not logged yet

    async def next(self) -> Frame | Oversized | Truncated | None:
        while True:
            found = self._take()
            if found is not None:
                return found
            if self._in_frame and len(self._buf) > self._max:
                size = len(self._buf)
                prefix = bytes(self._buf[:PREFIX_BYTES])
                self._buf.clear()
                self._in_frame = False
                return Oversized(prefix, size)
            data = await self._read()
            if not data:
                return self._at_eof()
            self._buf += data

    def _take(self) -> Frame | Truncated | None:
        """A complete frame from the buffer, after skipping bytes before a start block."""
        if not self._in_frame:
            start = self._buf.find(START)
            if start < 0:
                self._skip(len(self._buf))
                return None
            self._skip(start)
            self._end_junk()
            del self._buf[:1]  # the start block itself
            self._in_frame, self._scanned = True, 0
            self._frame_started = time.monotonic()
        end = self._buf.find(END, max(0, self._scanned - 1))
        restart = self._buf.find(START, max(0, self._scanned - 1), end if end >= 0 else len(self._buf))
        if restart >= 0:
            partial = bytes(self._buf[:restart])
            del self._buf[: restart + 1]
            self._scanned = 0
            log.warning("start block inside a frame: abandoning %d bytes", len(partial))
            return Truncated(partial)
        if end < 0:
            self._scanned = len(self._buf)
            return None
        payload = bytes(self._buf[:end])
        del self._buf[: end + len(END)]
        self._in_frame = False
        return Frame(payload)

    def _skip(self, n: int) -> None:
        """Drop ``n`` bytes outside a frame; a run of them is logged once, when it ends."""
        if n:
            self.skipped += n
            self._junk += n
            del self._buf[:n]

    def _end_junk(self) -> None:
        if self._junk:
            log.warning("skipped %d bytes outside an MLLP frame", self._junk)
            self._junk = 0

    def _frame_timeout(self) -> FrameTimeout:
        partial = bytes(self._buf)
        self._buf.clear()
        self._in_frame = False
        return FrameTimeout(f"frame not complete {self._deadline:g}s after it started", partial)

    def _at_eof(self) -> Truncated | None:
        self._end_junk()
        if self._in_frame:
            payload = bytes(self._buf)
            self._buf.clear()
            self._in_frame = False
            return Truncated(payload)
        return None

    async def _read(self) -> bytes:
        timeout, frame_left = self._idle, None
        if self._in_frame and self._deadline is not None:
            frame_left = self._frame_started + self._deadline - time.monotonic()
            if frame_left <= 0:
                raise self._frame_timeout()
            timeout = frame_left if timeout is None else min(timeout, frame_left)
        try:
            return await asyncio.wait_for(self._reader.read(READ_SIZE), timeout)
        except TimeoutError:
            self._end_junk()
            if frame_left is not None and self._frame_started + self._deadline <= time.monotonic():
                raise self._frame_timeout() from None
            raise IdleTimeout(f"no data for {self._idle:g}s") from None
        except (ConnectionError, OSError):
            return b""  # reset by peer: same as a close
