"""A response whose header block goes out in two parts: the status line and first headers while the
query runs, the rest when its result (or its error) is ready.

Why: a ClickHouse server asked for ``send_progress_in_http_headers=1`` writes its status line early,
keeps the header block open and adds an ``X-ClickHouse-Progress`` line now and then while the query
runs, then closes the block when the body starts; clients rely on those lines to keep a long query's
idle connection alive through proxies. aiohttp writes a status line and all headers in one piece
when a response is prepared, and has no public way to do otherwise. So the first part is written
here on the connection's transport, before aiohttp sees any response; the response that follows
(``OpenHead.response``/``OpenHead.stream``) is an ordinary aiohttp one except that its first header
stands where its status line would be, in the one method that writes the status line
(``_write_headers``). aiohttp still frames the body (a length, or chunks) and keeps the connection's
state as for any other response. Once the status line is out, the status is 200 for good: an error
can only add ``X-ClickHouse-Exception-Code`` to the block, as a server does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from http import HTTPStatus

from aiohttp import web
from multidict import CIMultiDict

# what aiohttp's own serialiser refuses (a value carrying a line break would inject headers)
_FORBIDDEN = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def _line(name: str, value: str) -> bytes:
    if _FORBIDDEN.search(name) or _FORBIDDEN.search(value):
        raise ValueError(f"control character in the header {name!r}")
    return f"{name}: {value}\r\n".encode()


class OpenHead:
    """The status line and first headers of a response, written at once; ``add`` writes more header
    lines, until ``response`` or ``stream`` hands the rest of the block over to aiohttp."""

    def __init__(self, request: web.BaseRequest, headers: Mapping[str, str], status: int = 200) -> None:
        version = request.version
        block = f"HTTP/{version.major}.{version.minor} {status} {HTTPStatus(status).phrase}\r\n".encode()
        block += b"".join(_line(name, value) for name, value in headers.items())
        self.status = status
        self._request = request
        self._sent = frozenset(name.lower() for name in headers)
        self._closed = False
        self._write(block)

    def add(self, name: str, value: str) -> None:
        if self._closed:
            raise RuntimeError("the header block has been handed over")
        self._write(_line(name, value))

    def response(self, *, body: bytes | memoryview | None, headers: Mapping[str, str]) -> web.Response:
        """The rest of the block, then ``body`` (with its length): an ordinary aiohttp response."""
        return _Rest(body=body, status=self.status, headers=self._rest(headers))

    def stream(self, headers: Mapping[str, str]) -> web.StreamResponse:
        """The rest of the block, then a body written piece by piece (``prepare``, ``write``)."""
        return _RestStream(status=self.status, headers=self._rest(headers))

    def _rest(self, headers: Mapping[str, str]) -> CIMultiDict[str]:
        self._closed = True
        return CIMultiDict((name, value) for name, value in headers.items() if name.lower() not in self._sent)

    def _write(self, data: bytes) -> None:
        transport = self._request.transport
        if transport is not None and not transport.is_closing():  # a client that left: its query is killed
            transport.write(data)


class _Continued:
    """Writes its headers as the end of a block whose status line is already out: the first header in
    the place of the status line (aiohttp's serialiser checks it for line breaks as it does a status)."""

    async def _write_headers(self) -> None:  # aiohttp's StreamResponse._write_headers, the status line's writer
        writer = self._payload_writer  # type: ignore[attr-defined]
        (first, value), *rest = self.headers.items()  # type: ignore[attr-defined]  # aiohttp added Date, Server
        await writer.write_headers(f"{first}: {value}", CIMultiDict(rest))
        if self._send_headers_immediately:  # type: ignore[attr-defined]
            writer.send_headers()


class _Rest(_Continued, web.Response):
    pass


class _RestStream(_Continued, web.StreamResponse):
    pass
