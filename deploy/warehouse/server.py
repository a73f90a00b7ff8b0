"""The ClickHouse HTTP interface in front of the in-process engine (aiohttp).

Speaks what clickhouse-connect, curl and Grafana send to a ClickHouse server: the query in the
``query`` parameter and/or the POST body, settings and ``param_*`` as URL parameters, compressed
request bodies (lz4, zstd, gzip, deflate), compressed responses on ``enable_http_compression=1``,
ClickHouse's native compressed blocks (``compress=1``/``decompress=1``: ``deploy.warehouse.native``),
Native blocks in the layout of the client's ``client_protocol_version`` (``native_blocks``), sessions
(``session_id``, with their settings, database and temporary tables: ``sessions``), the
``X-ClickHouse-*`` response headers, and errors as ``Code: N. DB::Exception: ...`` with the matching
status, the web framework's own refusals included. Engine calls block, so they run in a thread pool;
the event loop only moves bytes.

With ``send_progress_in_http_headers=1``, a query still running after
``http_headers_progress_interval_ms`` (at least 100) gets its status line and first headers sent, then an
``X-ClickHouse-Progress`` header at that interval (``deploy.warehouse.progress``, read from
``system.processes``) until its result is ready, as a server sends them; the header block is closed
with the rest of the headers and one last progress header with the totals (``deploy.warehouse.head``
says how). A query that fails after that keeps the status 200 already sent and gets
``X-ClickHouse-Exception-Code`` in the block and the error as the body (plain text), as from a server.

A result in a format that streams (TSV, CSV, JSONEachRow, Native, RowBinary and their ``…WithNames``
forms: ``deploy.warehouse.streaming``) larger than one engine chunk is streamed (chunked, compressed
as one stream), so the process never holds it whole. An error after the first chunk is written into
the body, as a server does, and the connection closed so that no client takes the body for whole.
While a query runs its client is watched: when the client goes away, the query is killed
(``KILL QUERY`` by its tag) and its thread freed.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
import shutil
import signal
import socket
import time
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

from aiohttp import web
from multidict import CIMultiDict

from deploy.warehouse import native, native_blocks
from deploy.warehouse.auth import Accounts, User, authorize, authorize_settings
from deploy.warehouse.body import (
    CHUNK,
    MAX_SPOOL_BYTES,
    PREFIX_LIMIT,
    Compressor,
    Prepared,
    choose_encoding,
    compress,
    decoded,
    decoder_for,
    prepare,
)
from deploy.warehouse.connections import CappedSite
from deploy.warehouse.engine import Engine, Outcome, QuerySpec, Stream
from deploy.warehouse.errors import QueryError
from deploy.warehouse.guard import (
    check,
    check_quoted_names,
    check_setting_names,
    parse_ast,
    setting_words,
    writes_only,
)
from deploy.warehouse.metrics import Metrics
from deploy.warehouse.native import BlockDecoder
from deploy.warehouse.params import RequestParams, safe_query_id
from deploy.warehouse.progress import Board, Reporter
from deploy.warehouse.sessions import Session, Sessions
from deploy.warehouse.sql import Statement, tokens, with_account
from deploy.warehouse.streaming import has_header, streamable
from dids.kernel.errors import DidsError
from dids.kernel.settings import Settings

log = logging.getLogger(__name__)


class ListenError(DidsError):
    """The HTTP port cannot be bound (taken, or not an address of this machine)."""


SPOOL_DIR = "http_spool"  # under the data directory: INSERT bodies on their way to the engine
MAX_URL = 1 << 20  # ClickHouse's http_max_uri_size
COMPRESS_INLINE = 1 << 16  # larger responses are compressed in the thread pool
QUERY_LOG_CHARS = 4096  # of each statement, in the query log
QUERY_LOG_SECONDS = 1.0  # the query log is written this often
STOP_DEADLINE = 10.0  # seconds SIGTERM waits for running queries before the process exits anyway
BODY_SECONDS = 600.0  # a request body (an INSERT's data) must have arrived within this long
WATCH_SECONDS = 0.25  # how often a running query's client is checked for having gone away
STREAM_KINDS = frozenset({"SELECT", "WITH"})  # chDB streams these only (not DESCRIBE, SHOW, EXPLAIN, ...)
# settings of the HTTP exchange itself that a session's SET keeps, as a server applies them to its later answers
SESSION_TRANSPORT = ("send_progress_in_http_headers", "http_headers_progress_interval_ms", "enable_http_compression")
TAG_PREFIX = "dids-http:"  # log_comment of every request's query: what KILL QUERY finds it by


class WarehouseServer:
    def __init__(
        self,
        engine: Engine,
        accounts: Accounts,
        spool_dir: Path,
        *,
        database: str,
        workers: int = 16,
        max_queries: int = 64,
    ):
        self.engine = engine
        self.max_queries = max_queries  # requests in flight at once (running or waiting for a thread)
        self._in_flight = 0
        self._log_rows: list[dict[str, object]] = []
        self.database = database  # the DIDS database: where the analyst views are
        self.accounts = accounts
        self.spool_dir = spool_dir
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="chdb")
        # KILL QUERY and stream cancels: never queued behind the queries they are meant to stop
        self.aside = ThreadPoolExecutor(max_workers=2, thread_name_prefix="chdb-kill")
        # progress headers: one read of the running queries for all the requests due for one
        self.board = Board(functools.partial(engine.progress, TAG_PREFIX), self.aside)
        self.metrics = Metrics()
        self.sessions = Sessions()
        self.display_name = socket.gethostname()
        self.started = time.monotonic()

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._framework_errors])
        app.router.add_get("/ping", self.ping)
        app.router.add_get("/health", self.health)
        app.router.add_get("/ready", self.health)  # ready is healthy here: the engine answers
        app.router.add_get("/metrics", self.metrics_page)
        app.router.add_route("GET", "/", self.query)
        app.router.add_route("POST", "/", self.query)
        return app

    @web.middleware
    async def _framework_errors(self, request: web.Request, handler) -> web.StreamResponse:
        """The web framework's own refusals (no such path, wrong method, body too large) in ClickHouse's
        format, with an exception code, like every other answer of the port."""
        try:
            return await handler(request)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            if exc.status == 404:
                message = f"There is no handle {request.path}: send queries to / (GET ?query=... or POST), see /ping"
            elif exc.status == 405:
                allowed = ", ".join(sorted(getattr(exc, "allowed_methods", ()) or ()))
                message = f"Method {request.method} is not allowed on {request.path}" + (
                    f": use {allowed}" if allowed else ""
                )
            else:
                message = f"{exc.reason} ({exc.text or exc.reason})".strip()
            error = QueryError(36, message, "BAD_ARGUMENTS", status=exc.status)
            self.metrics.observe("query", exc.status, 0.0, str(error.code))
            return self._error(error, safe_query_id(request.query.get("query_id")) or str(uuid.uuid4()))

    async def ping(self, request: web.Request) -> web.Response:
        self.metrics.observe("ping", 200, 0.0)
        return web.Response(text="Ok.\n", content_type="text/html")

    async def health(self, request: web.Request) -> web.Response:
        """Up or down for anyone (probes log in as nobody); the process details for the admin only."""
        status, state = 200, "ok"
        try:
            await asyncio.get_running_loop().run_in_executor(self.executor, self.engine.check)
        except QueryError:
            status, state = 503, "engine error"
        body: dict[str, object] = {"status": state}
        try:
            admin = self.accounts.authenticate(request.headers, request.query).readonly == 0
        except QueryError:
            admin = False
        if admin:
            body.update(
                pid=os.getpid(),
                version=self.engine.version,
                timezone=self.engine.timezone,
                data_dir=str(self.engine.data_dir),
                uptime_seconds=round(time.monotonic() - self.started, 1),
            )
        return web.json_response(body, status=status)

    async def metrics_page(self, request: web.Request) -> web.Response:
        body, content_type = self.metrics.render()
        return web.Response(body=body, headers={"Content-Type": content_type})

    async def query(self, request: web.Request) -> web.Response:
        """A ClickHouse HTTP request on `/`: always answered the way ClickHouse answers."""
        start = time.perf_counter()
        # a query id that cannot be echoed in a header is refused (RequestParams) under one of ours
        exchange = _Exchange(query_id=safe_query_id(request.query.get("query_id")) or str(uuid.uuid4()))
        self._in_flight += 1
        try:
            if self._in_flight > self.max_queries:
                raise QueryError(
                    202,
                    f"Too many simultaneous queries. Maximum: {self.max_queries}",
                    "TOO_MANY_SIMULTANEOUS_QUERIES",
                )
            response = await self._answer(request, exchange)
        except QueryError as exc:
            response = self._error(exc, exchange.query_id, exchange.progress)
            log.info("%s %s: code %d (%s)", exchange.kind, exchange.query_id, exc.code, exc.name)
            log.debug("%s %s: %s", exchange.kind, exchange.query_id, exc.message)
        except Exception as exc:  # a bug here, not in the query: still answer like ClickHouse
            log.exception("%s %s failed", exchange.kind, exchange.query_id)
            error = QueryError(1001, f"{type(exc).__name__}: {exc}", "STD_EXCEPTION")
            response = self._error(error, exchange.query_id, exchange.progress)
        finally:
            self._in_flight -= 1
            if exchange.prepared is not None:
                exchange.prepared.discard()
        error_code = exchange.error_code or response.headers.get("X-ClickHouse-Exception-Code")
        seconds = time.perf_counter() - start
        self.metrics.observe(exchange.kind, response.status, seconds, error_code)
        if exchange.kind != "ping":
            self._log_query(request, exchange, response, seconds)
        return response

    def _log_query(self, request: web.Request, exchange: _Exchange, response: web.Response, seconds: float) -> None:
        """Queue the query log's row; ``log_flusher`` writes the queue once a second."""
        summary = exchange.summary or json.loads(response.headers.get("X-ClickHouse-Summary", "{}"))
        row = {
            "event_time": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],
            "user": exchange.user,
            "query_id": exchange.query_id,
            "kind": exchange.kind,
            "http_status": response.status,
            "exception_code": int(exchange.error_code or response.headers.get("X-ClickHouse-Exception-Code") or 0),
            "duration_ms": round(seconds * 1000, 3),
            "read_rows": int(summary.get("read_rows", 0)),
            "written_rows": int(summary.get("written_rows", 0)),
            "peer": request.remote or "",
            "query": exchange.sql[:QUERY_LOG_CHARS],
        }
        self._log_rows.append(row)

    async def flush_query_log(self) -> None:
        """The rows logged since the last flush, in one insert (one part, not one per query)."""
        rows, self._log_rows = self._log_rows, []
        if not rows:
            return
        try:
            await asyncio.get_running_loop().run_in_executor(self.executor, self.engine.log_queries, rows)
        except Exception as exc:  # a failure to log never fails a query
            log.warning("query log write of %d rows failed: %s", len(rows), exc)

    async def log_flusher(self) -> None:
        while True:
            await asyncio.sleep(QUERY_LOG_SECONDS)
            await self.flush_query_log()

    async def _answer(self, request: web.Request, exchange: _Exchange) -> web.Response:
        if request.method == "GET" and not request.query.get("query"):
            exchange.kind = "ping"  # ClickHouse answers a bare GET / like /ping
            return web.Response(text="Ok.\n", content_type="text/html")
        user = self.accounts.authenticate(request.headers, request.query)
        exchange.user = user.name
        values, body = await _values_and_body(request)
        rp = RequestParams.parse(values, request.headers)
        exchange.query_id = rp.query_id or exchange.query_id
        if not rp.session_id:
            return await self._answer_in(request, exchange, user, rp, body, None)
        session = self.sessions.enter(user.name, rp.session_id, rp.session_timeout, rp.session_check)
        try:
            kept = {name: session.settings[name] for name in SESSION_TRANSPORT if name in session.settings}
            if kept.keys() - values.keys():  # the session's SET of how answers travel, unless the URL says
                rp = RequestParams.parse({**kept, **values}, request.headers)
            # the session's settings and database, under this request's own
            rp = replace(rp, settings={**session.settings, **rp.settings}, database=rp.database or session.database)
            return await self._answer_in(request, exchange, user, rp, body, session)
        finally:
            self.sessions.leave(session)

    async def _answer_in(
        self,
        request: web.Request,
        exchange: _Exchange,
        user: User,
        rp: RequestParams,
        body: AsyncIterator[bytes] | None,
        session: Session | None,
    ) -> web.StreamResponse:
        readonly = rp.readonly_level(user.readonly, request.method)
        profile = authorize_settings(user, rp.settings)
        check_setting_names(rp.settings)

        loop = asyncio.get_running_loop()
        writes = _Writes()

        async def allowed(sql: str, statement: Statement) -> None:
            # before a byte of INSERT data is spooled: the account, its statement kinds, then the parse tree
            exchange.kind = "insert" if statement.kind == "INSERT" else "query"
            exchange.sql = sql  # for the query log: the statement, never an INSERT's data
            words = setting_words(tokens(sql))
            check_setting_names(words)
            check_quoted_names(tokens(sql))
            keywords = [t.text.upper() for t in tokens(sql) if t.kind == "word"][:2]
            writes.creates_temporary = keywords == ["CREATE", "TEMPORARY"]
            # what may write a temporary table is authorized once its targets are read from the parse tree
            maybe_temporary = writes.creates_temporary or (session is not None and statement.kind in ("INSERT", "DROP"))
            if not maybe_temporary:
                authorize(user, statement, readonly)
            if session is not None and session.handle is not None:
                writes.temporary = await loop.run_in_executor(self.executor, session.handle.temporary_tables)
            nodes = parse_ast(await loop.run_in_executor(self.executor, self.engine.explain_ast, sql, rp.params))
            if maybe_temporary:
                only_temporary = writes.creates_temporary or writes_only(nodes, statement.kind, writes.temporary)
                # a read-only account keeps temporary tables in a session only (without one they die unused)
                authorize(
                    user, statement, readonly, temporary=only_temporary and (session is not None or not user.readonly)
                )
            on_handle = session is not None and (session.handle is not None or writes.creates_temporary)
            clause = statement.kind != "SET" and any(node.kind == "Set" for node in nodes)
            if on_handle and user.readonly and clause:
                # a session's handle is at readonly=2, where a SETTINGS clause could raise a limit; at the
                # account's readonly=1 the engine refuses every one, and so does this (a SET is checked
                # setting by setting: it runs on a handle of its own)
                raise QueryError(
                    164,
                    "Cannot modify settings in a SETTINGS clause in readonly mode: "
                    "send them as URL parameters or SET them",
                    "READONLY",
                )
            check(
                nodes,
                analyst=bool(user.readonly),
                database=self.database,
                current_database=rp.database or "default",
                tables=user.tables,
                temporary=writes.temporary,
            )

        decoder = decoder_for(request.headers.get("Content-Encoding")) if body is not None else None
        chunks = decoded(body or _nothing(), decoder)
        if rp.native_request and body is not None:  # HTTP's encoding is taken off first, as a server does
            chunks = decoded(chunks, BlockDecoder(MAX_SPOOL_BYTES + PREFIX_LIMIT))
        try:
            async with asyncio.timeout(BODY_SECONDS):  # a client trickling its body holds nothing for ever
                exchange.prepared = prepared = await prepare(rp.query, chunks, self.spool_dir, allowed)
        except TimeoutError:
            raise QueryError(
                209, f"Timeout exceeded while reading the request body ({BODY_SECONDS:.0f} s)", "SOCKET_TIMEOUT"
            ) from None
        statement = prepared.statement
        spec = QuerySpec(
            sql=with_account(prepared.sql.decode("latin-1"), user.name).encode("latin-1"),
            output_format=rp.default_format or "TabSeparated",
            database=rp.database,
            settings=rp.settings,
            params=rp.params,
            readonly=readonly,
            profile=profile,
            tag=f"{TAG_PREFIX}{uuid.uuid4()}",
        )
        if session is not None and session.handle is None and writes.creates_temporary:
            # from the session's first temporary table on, its requests run on one handle that keeps them
            self.sessions.may_hold_handle()
            session.handle = await loop.run_in_executor(
                self.executor, self.engine.session_handle, 2 if user.readonly else 0
            )
        if session is not None and session.handle is not None and statement.kind not in ("SET", "USE"):
            spec = replace(spec, handle=session.handle)
        if rp.progress_headers:
            exchange.progress = Reporter(
                request, self.board, spec.tag, rp.progress_interval, self._headers(exchange.query_id)
            )
        if session is not None and statement.kind in ("SET", "USE"):
            # run on a handle of its own, then what it changed is kept for the session's next requests; the
            # read-only analyst's SET runs at readonly=2 and is kept only if its account could send it
            spec = replace(spec, capture=True, readonly=2 if readonly == 1 and statement.kind == "SET" else readonly)
            outcome = await self._watched(request, spec.tag, self.engine.run, spec, progress=exchange.progress)
            changed = outcome.changed or {}
            authorize_settings(user, changed)
            check_setting_names(changed)
            session.settings.update(changed)
            if statement.kind == "USE" and outcome.database:
                session.database = outcome.database
            return await self._result(request, rp, None, outcome, exchange)
        fmt = statement.output_format or (spec.output_format if statement.produces_result else None)
        if statement.kind in STREAM_KINDS and fmt and streamable(fmt):
            return await self._streamed(request, rp, fmt, replace(spec, output_format=fmt), exchange)
        outcome = await self._watched(request, spec.tag, self.engine.run, spec, progress=exchange.progress)
        return await self._result(request, rp, fmt, outcome, exchange)

    async def _watched(self, request: web.Request, tag: str, call, *args, progress: Reporter | None = None):
        """``call(*args)`` in the pool; if the client goes away meanwhile, its query is killed (the
        call then raises QUERY_WAS_CANCELLED) rather than left holding a thread to its time limit.
        Meanwhile the ``progress`` headers, if the client asked for them."""
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self.executor, call, *args)
        while not future.done():
            timeout = WATCH_SECONDS if progress is None else min(WATCH_SECONDS, progress.due_in())
            await asyncio.wait({future}, timeout=timeout)
            if future.done():
                break
            if _gone(request):
                log.info("client of %s went away: killing its query", tag)
                await loop.run_in_executor(self.aside, self.engine.kill, tag)
            elif progress is not None:
                await progress.report(future)
        return future.result()

    async def _streamed(
        self, request: web.Request, rp: RequestParams, fmt: str, spec: QuerySpec, exchange: _Exchange
    ) -> web.StreamResponse:
        """A result of more than one engine chunk goes out as it is read; a smaller one as ``_result``."""
        loop = asyncio.get_running_loop()
        progress = exchange.progress  # until the body starts
        stream: Stream = await self._watched(request, spec.tag, self.engine.stream, spec, progress=progress)
        try:
            first = await self._watched(request, spec.tag, stream.next, progress=progress)
            second = None
            if first is not None:
                second = await self._watched(request, spec.tag, stream.next, progress=progress)
            if first is None and has_header(fmt):
                # no rows: chDB's stream gives no chunk at all, not even the header that a server sends
                # (and that drivers read the columns from), so the empty result is asked for whole
                outcome = await self._watched(request, spec.tag, self.engine.run, spec, progress=progress)
                return await self._result(request, rp, fmt, outcome, exchange)
            if second is None:  # one chunk: an ordinary response with its exact size and summary
                outcome = Outcome(memoryview(first or b""), stream.summary)
                return await self._result(request, rp, fmt, outcome, exchange)
            headers = self._result_headers(fmt, stream.summary, exchange.query_id, progress)
            response = _stream_response(progress, headers)
            encoding = choose_encoding(request.headers.get("Accept-Encoding")) if rp.compress_response else None
            compressor = _Wrapped(Compressor(encoding) if encoding else None, rp.native_method, _rewriter(rp, fmt))
            if encoding:
                response.headers["Content-Encoding"] = encoding
            await response.prepare(request)
            chunk: bytes | None = first
            try:
                while chunk is not None:
                    await response.write(compressor.feed(chunk))
                    chunk, second = second, None
                    if chunk is None:
                        chunk = await self._watched(request, spec.tag, stream.next)
                await response.write(compressor.finish())
            except QueryError as exc:
                # headers are gone: the error goes into the body, and the connection is closed so that
                # no client takes what came before it for the whole result
                exchange.error_code = str(exc.code)
                log.info("query %s failed after its first chunk: code %d (%s)", exchange.query_id, exc.code, exc.name)
                text = exc.body(self.engine.version).encode()
                with contextlib.suppress(ConnectionError):
                    await response.write(compressor.feed(text, result=False) + compressor.finish())
                if request.transport is not None:
                    request.transport.close()
            except ConnectionError:  # the client went away between chunks
                exchange.error_code = "394"
                log.info("client of %s went away mid-result", exchange.query_id)
            exchange.summary = stream.summary
            return response
        finally:
            await loop.run_in_executor(self.aside, stream.close)

    async def _result(
        self, request: web.Request, rp: RequestParams, fmt: str | None, outcome: Outcome, exchange: _Exchange
    ) -> web.Response:
        progress = exchange.progress
        headers = self._result_headers(fmt, outcome.summary, exchange.query_id, progress)
        body = outcome.body
        rewrite = _rewriter(rp, fmt)
        if rewrite is not None and body:
            body = await asyncio.get_running_loop().run_in_executor(self.executor, rewrite, body)
        if rp.native_method is not None and body:
            if len(body) > COMPRESS_INLINE:
                body = await asyncio.get_running_loop().run_in_executor(
                    self.executor, native.encode, body, rp.native_method
                )
            else:
                body = native.encode(body, rp.native_method)
        encoding = choose_encoding(request.headers.get("Accept-Encoding")) if rp.compress_response else None
        if encoding and body:
            if len(body) > COMPRESS_INLINE:
                body = await asyncio.get_running_loop().run_in_executor(self.executor, compress, body, encoding)
            else:
                body = compress(body, encoding)
            headers["Content-Encoding"] = encoding
        return _response(progress, body, headers)

    def _result_headers(
        self, fmt: str | None, summary: dict[str, str], query_id: str, progress: Reporter | None
    ) -> CIMultiDict:
        headers = self._headers(query_id)
        if progress is not None:
            # with the totals once the result (or its first chunk) is ready, so that even a short query
            # has one (a server's last one is sent as the query ends)
            headers.add("X-ClickHouse-Progress", progress.final(summary))
        headers["X-ClickHouse-Summary"] = json.dumps(summary, separators=(",", ":"))
        headers["Content-Type"] = content_type(fmt)
        if fmt:
            headers["X-ClickHouse-Format"] = fmt
        return headers

    def _headers(self, query_id: str) -> CIMultiDict:
        return CIMultiDict(
            {
                "X-ClickHouse-Query-Id": query_id,
                "X-ClickHouse-Timezone": self.engine.timezone,
                "X-ClickHouse-Server-Display-Name": self.display_name,
            }
        )

    def _error(self, exc: QueryError, query_id: str, progress: Reporter | None = None) -> web.Response:
        headers = self._headers(query_id)
        headers["X-ClickHouse-Exception-Code"] = str(exc.code)
        headers["Content-Type"] = "text/plain; charset=UTF-8"
        # plain text even with compress=1, as a server sends an error before its result: the JDBC driver and
        # clickhouse-go read an error's body as it is (a compressed one reached their users as noise)
        # after progress headers, the status 200 is out already: the code joins them, as a server does it
        return _response(progress, exc.body(self.engine.version).encode(), headers, exc.http_status)

    def close(self, deadline: float = STOP_DEADLINE) -> bool:
        """Stop taking work and wait up to ``deadline`` seconds for running queries; False if some still run."""
        threads = list(getattr(self.executor, "_threads", ()))
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.engine.kill(TAG_PREFIX, prefix=True)  # every request's running query ends at once
        self.aside.shutdown(wait=False, cancel_futures=True)
        end = time.monotonic() + deadline
        for thread in threads:
            thread.join(max(0.0, end - time.monotonic()))
        done = not any(thread.is_alive() for thread in threads)
        if done:
            self.sessions.close()  # their handles, before the engine they belong to
        return done


@dataclass
class _Exchange:
    """What the metrics and the clean-up need to know about a request, whatever happened."""

    query_id: str
    kind: str = "query"  # query | insert | ping
    prepared: Prepared | None = None
    user: str = ""  # the authenticated account ("" when the login failed)
    sql: str = ""
    # of a streamed result, where the response headers were sent before the end
    summary: dict[str, str] | None = None
    error_code: str | None = None
    progress: Reporter | None = None  # send_progress_in_http_headers=1: its headers, once the query has begun


@dataclass
class _Writes:
    """What a request's statement may write, learnt while it is authorized."""

    creates_temporary: bool = False  # CREATE TEMPORARY TABLE
    temporary: frozenset[str] = frozenset()  # the session's temporary tables before the statement


class _Wrapped:
    """A streamed response's encoders: ClickHouse's compressed blocks (compress=1) inside the HTTP
    encoding (enable_http_compression=1), either or both or neither."""

    def __init__(self, compressor: Compressor | None, native_method: int | None, rewrite=None) -> None:
        self.compressor = compressor
        self.native_method = native_method
        self.rewrite = rewrite

    def feed(self, data: bytes, *, result: bool = True) -> bytes:
        if self.rewrite is not None and result and data:
            data = self.rewrite(data)
        if self.native_method is not None and data:
            data = native.encode(data, self.native_method)
        return self.compressor.feed(data) if self.compressor else data

    def finish(self) -> bytes:
        return self.compressor.finish() if self.compressor else b""


def _rewriter(rp: RequestParams, fmt: str | None):
    """For a Native result asked for with client_protocol_version: the engine's blocks in that layout."""
    if rp.client_revision and fmt and fmt.lower() == "native":
        return functools.partial(native_blocks.for_revision, revision=rp.client_revision)
    return None


def _response(progress: Reporter | None, body, headers: CIMultiDict, status: int = 200) -> web.Response:
    """``headers`` and ``body``: the end of the block the progress headers opened, if they did (its
    status stays), or a whole response."""
    if progress is not None and progress.head is not None:
        return progress.head.response(body=body, headers=headers)
    return web.Response(body=body, headers=headers, status=status)


def _stream_response(progress: Reporter | None, headers: CIMultiDict) -> web.StreamResponse:
    """As ``_response``, for a body written piece by piece."""
    if progress is not None and progress.head is not None:
        return progress.head.stream(headers)
    return web.StreamResponse(headers=headers)


def _gone(request: web.Request) -> bool:
    """The client closed its connection (aiohttp drops the transport when it sees that)."""
    transport = request.transport
    return transport is None or transport.is_closing()


async def _values_and_body(request: web.Request) -> tuple[dict[str, str], AsyncIterator[bytes] | None]:
    """URL parameters (plus form fields of a multipart request) and the body still to read."""
    values = dict(request.query)
    if request.method != "POST" or not request.body_exists:
        return values, None
    if request.content_type != "multipart/form-data":
        return values, request.content.iter_chunked(CHUNK)
    reader = await request.multipart()
    async for part in reader:
        if part.filename is not None:
            raise QueryError(
                48, "External data (file parts of a multipart request) is not supported", "NOT_IMPLEMENTED"
            )
        field = bytearray()
        while chunk := await part.read_chunk(CHUNK):
            field += chunk
            if len(field) > MAX_URL:
                raise QueryError(
                    36,
                    f"Form field {part.name!r} is over {MAX_URL >> 20} MiB (the limit of a URL, which it stands for): "
                    "send a long query in the POST body instead",
                    "BAD_ARGUMENTS",
                    status=413,
                )
        values[part.name or ""] = part.decode(bytes(field)).decode(part.get_charset(default="utf-8"))
    return values, None


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield  # an empty async generator


_CONTENT_TYPES = (
    ("TabSeparated", "text/tab-separated-values; charset=UTF-8"),
    ("TSV", "text/tab-separated-values; charset=UTF-8"),
    ("CSV", "text/csv; charset=UTF-8"),
    ("JSON", "application/json; charset=UTF-8"),
    ("XML", "application/xml; charset=UTF-8"),
    ("Pretty", "text/plain; charset=UTF-8"),
    ("Vertical", "text/plain; charset=UTF-8"),
    ("Markdown", "text/markdown; charset=UTF-8"),
)


def content_type(fmt: str | None) -> str:
    if not fmt:
        return "text/plain; charset=UTF-8"
    for prefix, value in _CONTENT_TYPES:
        if fmt.startswith(prefix):
            return value
    return "application/octet-stream"


def serve(settings: Settings, data_dir: Path, *, host: str = "127.0.0.1", port: int = 8123) -> None:
    """Run the warehouse in the foreground until SIGTERM or Ctrl-C."""
    asyncio.run(_serve(settings, data_dir, host, port))


async def _serve(settings: Settings, data_dir: Path, host: str, port: int) -> None:
    began = time.monotonic()
    engine = Engine(data_dir)
    server = None
    runner = None
    try:
        engine.ensure_database(settings.clickhouse_database)
        engine.ensure_query_log()
        spool_dir = engine.data_dir / SPOOL_DIR
        shutil.rmtree(spool_dir, ignore_errors=True)  # bodies of requests a crash interrupted
        spool_dir.mkdir(parents=True)
        server = WarehouseServer(
            engine,
            Accounts.from_settings(settings),
            spool_dir,
            database=settings.clickhouse_database,
            max_queries=settings.warehouse_max_queries,
        )
        runner = web.AppRunner(
            server.app(),
            access_log=None,
            auto_decompress=False,
            max_line_size=MAX_URL,
            max_field_size=1 << 16,
            shutdown_timeout=STOP_DEADLINE / 2,
            # also the deadline for each request head (deploy/warehouse/connections.py)
            keepalive_timeout=settings.warehouse_idle_seconds,
        )
        await runner.setup()
        try:
            await CappedSite(runner, host, port, max_connections=settings.warehouse_max_connections).start()
        except OSError as exc:
            raise ListenError(f"cannot listen on {host}:{port}: {exc.strerror or exc}; choose another --port") from exc
        log.info(
            "warehouse (ClickHouse %s, chDB) on http://%s:%d, data in %s, ready in %.2fs",
            engine.version,
            host,
            port,
            engine.data_dir,
            time.monotonic() - began,
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        flusher = asyncio.create_task(server.log_flusher())
        await stop.wait()
        log.info("warehouse stopping")
        flusher.cancel()
        await server.flush_query_log()
    finally:
        stop_by = time.monotonic() + STOP_DEADLINE  # the whole stop, however many queries still run
        if runner is not None:
            with contextlib.suppress(TimeoutError):  # handlers waiting on a runaway query: let them be
                await asyncio.wait_for(runner.cleanup(), STOP_DEADLINE / 2)
        if server is not None and not server.close(max(0.0, stop_by - time.monotonic())):
            # a runaway query holds its thread (chDB cannot cancel it from here): parts on disk are
            # whole, so leave without waiting for it rather than never stopping
            log.warning("queries still running %.0fs after the stop signal: exiting without them", STOP_DEADLINE)
            logging.shutdown()
            os._exit(0)
        engine.close()
