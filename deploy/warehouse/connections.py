"""Connection limits of the warehouse's HTTP port: a cap on open connections, and a deadline for
each request head.

aiohttp has neither a connection cap nor a header timeout of its own, but its keep-alive timer
(started when a connection opens and again after every response) closes a connection whose
handler is still waiting for a whole request head: so ``keepalive_timeout`` is the head deadline
too, and a client trickling its headers a byte at a time is closed by it. The cap is enforced
where connections are accepted: beyond it a connection gets one 503 in ClickHouse's format and is
closed before anything of its request is read, as a server over ``max_connections`` refuses work.
"""

from __future__ import annotations

import asyncio
import logging
from http import HTTPStatus

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

log = logging.getLogger(__name__)

TOO_MANY = 202  # TOO_MANY_SIMULTANEOUS_QUERIES: what clients retry on
MESSAGE_CHARS = 300  # of the framework's reason for refusing a malformed request (it may quote the request)


class _ClickHouseErrors(RequestHandler):
    """aiohttp's connection handler, but a request it cannot even parse (a bad request line, a header
    over the limit) is refused in ClickHouse's format, not the framework's plain text: these refusals
    never reach the application's middlewares."""

    __slots__ = ()

    def handle_error(self, request, status=500, exc=None, message=None):  # aiohttp's signature
        super().handle_error(request, status, exc, message)  # logs it; raises if a response was begun
        code, name = (1001, "STD_EXCEPTION") if status >= 500 else (36, "BAD_ARGUMENTS")
        reason = message.splitlines()[0][:MESSAGE_CHARS].rstrip(" :") if message else ""
        text = f"{HTTPStatus(status).phrase}{': ' + reason if reason else ''}"
        response = web.Response(
            status=status,
            text=f"Code: {code}. DB::Exception: {text}. ({name})\n",
            headers={"X-ClickHouse-Exception-Code": str(code)},
        )
        response.force_close()
        return response


class _Refused(asyncio.Protocol):
    """A connection over the cap: one 503, then closed (the request is never read)."""

    def __init__(self, cap: int) -> None:
        self.cap = cap

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        body = (
            f"Code: {TOO_MANY}. DB::Exception: Too many connections (the limit is {self.cap}): "
            "try again later. (TOO_MANY_SIMULTANEOUS_QUERIES)\n"
        ).encode()
        head = (
            "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Type: text/plain; charset=UTF-8\r\n"
            f"X-ClickHouse-Exception-Code: {TOO_MANY}\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        transport.write(head + body)  # type: ignore[attr-defined]
        transport.close()


class CappedSite(web.TCPSite):
    """A TCP site that serves at most ``max_connections`` connections at once."""

    def __init__(self, runner: web.BaseRunner, host: str, port: int, *, max_connections: int) -> None:
        super().__init__(runner, host, port, reuse_address=True)
        self.max_connections = max_connections
        self.refused = 0

    async def start(self) -> None:
        await web.BaseSite.start(self)  # registers the site with its runner (TCPSite.start's first step)
        server = self._runner.server
        assert server is not None

        def accept() -> asyncio.BaseProtocol:
            if len(server.connections) >= self.max_connections:
                self.refused += 1
                if self.refused == 1 or self.refused % 1000 == 0:
                    log.warning("%d connections refused: at the cap of %d", self.refused, self.max_connections)
                return _Refused(self.max_connections)
            handler = server()
            handler.__class__ = _ClickHouseErrors  # the same object and layout, with ClickHouse's error format
            return handler

        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            accept, self._host, self._port, backlog=self._backlog, reuse_address=self._reuse_address
        )
