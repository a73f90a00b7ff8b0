"""The ClickHouse engine in this process (chDB), one fresh connection handle per request.

chDB hosts one engine per process and per data directory; this process owns it through a
``chdb.session.Session`` held for its whole life. Each request then opens its own connection
handle to that engine (about 0.15 ms), which gives every request what a ClickHouse server gives
it: its own current database and its own settings. Per-request settings are applied with one
``SET`` on the fresh handle and vanish when it closes, so nothing leaks into other requests, and
a request's ``readonly`` level is set last (after it, the handle refuses further changes, which
is exactly why the handle is thrown away). Handles run in parallel: chDB releases the GIL and
serialises only calls on the same handle, which never happens here.

A session with temporary tables keeps one handle instead (``SessionHandle``), since a temporary table
lives in the handle that created it: each of its requests sets that request's database, settings,
limits and tag on it again, and puts back to their defaults the settings the request before set and
this one does not. Its ``readonly`` is set once, when it opens: 0 for the admin, 2 for a read-only
account (which permits temporary tables and nothing else that writes); the server checks a stricter
level of a single request by statement kind (``deploy.warehouse.auth.authorize``).

Every request's handle carries a tag in its ``log_comment`` setting, which ``system.processes``
shows, so ``kill`` can stop that request's query from another handle (``KILL QUERY``): chDB cannot
interrupt a running fetch any other way, and ``progress`` can tell how far it has got. Results of
the formats whose chunks concatenate to the whole (``deploy.warehouse.streaming``) can be read chunk
by chunk (``stream``), so a large result is never held whole.

All methods block; the server calls them from a thread pool.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import chdb
from chdb import session as chdb_session

from deploy.warehouse.errors import QueryError
from deploy.warehouse.sql import quote_identifier, quote_string
from deploy.warehouse.streaming import Joiner
from dids.kernel.errors import DidsError

log = logging.getLogger(__name__)


LOG_DATABASE = "dids_warehouse"
QUERY_LOG = f"{LOG_DATABASE}.query_log"
# chDB's Python API turns these "formats" into Python objects; over HTTP they do not exist
_PYTHON_FORMATS = frozenset({"arrowtable", "dataframe", "datastore"})


class EngineError(DidsError):
    """The chDB engine cannot be opened on the data directory."""


@dataclass(frozen=True)
class QuerySpec:
    """One request, ready for the engine."""

    sql: bytes
    output_format: str = "TabSeparated"  # used when the SQL names none
    database: str | None = None
    settings: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)  # {name:Type} placeholders, unescaped by the engine
    readonly: int = 0
    profile: Mapping[str, int | str] = field(default_factory=dict)  # the account's locked limits
    tag: str = ""  # log_comment of the handle: what `Engine.kill` finds the running query by
    capture: bool = False  # report the settings and database the statement changed (SET, USE in a session)
    handle: SessionHandle | None = None  # run on this session's handle instead of a fresh one


@dataclass(frozen=True)
class Outcome:
    body: memoryview  # the engine's own result buffer, not a copy
    summary: dict[str, str]
    result: object = None  # keeps that buffer alive until the response is sent
    changed: dict[str, str] | None = None  # with QuerySpec.capture: settings the statement set
    database: str | None = None  # with QuerySpec.capture: the current database after it


class Engine:
    """Owns the chDB engine for ``data_dir``; ``run`` executes one request on a fresh handle."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir.resolve()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._path = str(self.data_dir)
        self._lock = threading.Lock()  # guards the owner session (startup, health, close)
        try:
            self._session: chdb_session.Session | None = chdb_session.Session(self._path)
        except Exception as exc:  # chDB prints the reason (e.g. the directory lock) on stderr
            raise EngineError(
                f"cannot open the ClickHouse engine on {self._path} ({exc}); is another `dids warehouse` "
                "using this data directory? See the lines above."
            ) from exc
        version, timezone = self._owner_query("SELECT version(), timezone()").decode().strip().split("\t")
        self.version = version
        self.timezone = timezone

    def _owner_query(self, sql: str) -> bytes:
        with self._lock:
            if self._session is None:
                raise QueryError(1001, "The warehouse engine is closed", "STD_EXCEPTION")
            try:
                return self._session.query(sql, "TabSeparated").bytes()
            except Exception as exc:
                raise QueryError.from_engine(exc) from exc

    def ensure_query_log(self) -> None:
        """The warehouse's own query log (``QUERY_LOG``): who ran what, kept 30 days; the admin reads it,
        the analyst's guard allows it no table outside the DIDS database's analyst views."""
        self._owner_query(f"CREATE DATABASE IF NOT EXISTS {LOG_DATABASE}")
        self._owner_query(
            f"CREATE TABLE IF NOT EXISTS {QUERY_LOG} (event_time DateTime64(3, 'UTC'), user LowCardinality(String), "
            "query_id String, kind LowCardinality(String), http_status UInt16, exception_code Int32, "
            "duration_ms Float64, read_rows UInt64, written_rows UInt64, peer String, query String) "
            "ENGINE = MergeTree ORDER BY event_time TTL toDateTime(event_time) + INTERVAL 30 DAY"
        )

    def log_queries(self, rows: list[Mapping[str, object]]) -> None:
        """Rows of the query log in one insert (JSON, so every value is escaped by the encoder)."""
        body = "\n".join(json.dumps(row, default=str, ensure_ascii=False) for row in rows)
        self._owner_query(f"INSERT INTO {QUERY_LOG} FORMAT JSONEachRow\n{body}")

    def ensure_database(self, name: str) -> None:
        self._owner_query(f"CREATE DATABASE IF NOT EXISTS {quote_identifier(name)}")

    def check(self) -> None:
        """Raise unless the engine answers a trivial query."""
        if self._owner_query("SELECT 1").strip() != b"1":
            raise QueryError(1001, "The warehouse engine gave a wrong answer to SELECT 1", "STD_EXCEPTION")

    def explain_ast(self, sql: str, params: Mapping[str, str]) -> str:
        """The engine's parse tree of ``sql`` (``EXPLAIN AST`` parses only: nothing in it runs). At
        readonly=2, since at 1 a statement's own SETTINGS clause is refused before it is parsed: whether
        the account may send those settings is the statement's run's to decide, on its own handle."""
        spec = QuerySpec(sql=b"EXPLAIN AST " + sql.encode("latin-1"), params=params, readonly=2)
        return bytes(self.run(spec).body).decode("utf-8", "replace")

    def run(self, spec: QuerySpec) -> Outcome:
        conn = self._handle(spec) if spec.handle is None else spec.handle.prepare(spec)
        try:
            before = _changed_settings(conn) if spec.capture else {}
            result = conn.query(spec.sql, spec.output_format, params=dict(spec.params))
            outcome = Outcome(result.get_memview().view(), _summary(result), result)
            if spec.capture:
                after = _changed_settings(conn)
                changed = {name: value for name, value in after.items() if before.get(name) != value}
                database = bytes(conn.query("SELECT currentDatabase()", "TabSeparatedRaw").bytes()).decode().strip()
                outcome = Outcome(outcome.body, outcome.summary, result, changed, database)
            return outcome
        except Exception as exc:
            raise QueryError.from_engine(exc) from exc
        finally:
            if spec.handle is None:
                conn.close()

    def stream(self, spec: QuerySpec) -> Stream:
        """Start the query; its result is read a chunk at a time (``Stream.next``). Only for a
        statement whose output format is ``streamable``."""
        conn = self._handle(spec) if spec.handle is None else spec.handle.prepare(spec)
        try:
            result = conn.send_query(spec.sql, spec.output_format, params=dict(spec.params))
            return Stream(conn, result, Joiner(spec.output_format), owned=spec.handle is None)
        except Exception as exc:
            if spec.handle is None:
                conn.close()
            raise QueryError.from_engine(exc) from exc

    def session_handle(self, readonly: int) -> SessionHandle:
        """A handle for a session's temporary tables, at ``readonly`` 0 or 2 for its whole life."""
        handle = SessionHandle(self._connect())
        if readonly:
            handle.query("SET readonly = 2")
        return handle

    def kill(self, tag: str, *, prefix: bool = False) -> None:
        """Stop the query running under ``tag`` (``QuerySpec.tag``; with ``prefix``, every query whose
        tag starts with it), if there is one: its call ends with QUERY_WAS_CANCELLED within moments."""
        match = "startsWith(Settings['log_comment'], {0})" if prefix else "Settings['log_comment'] = {0}"
        conn = chdb.connect(self._path)
        try:
            conn.query(f"KILL QUERY WHERE {match.format(quote_string(tag))} ASYNC", "TabSeparated")
        except Exception as exc:  # nothing to kill is not an error; anything else is logged, not raised
            log.warning("KILL QUERY for %s failed: %s", tag, exc)
        finally:
            conn.close()

    def progress(self, prefix: str) -> dict[str, dict[str, int]]:
        """What ``system.processes`` shows of each running query whose tag starts with ``prefix``, by tag:
        rows and bytes read and written so far, rows it expects to read, nanoseconds since it began."""
        sql = (
            "SELECT Settings['log_comment'], read_rows, read_bytes, written_rows, written_bytes, total_rows_approx, "
            "toUInt64(elapsed * 1e9) FROM system.processes "
            f"WHERE is_initial_query AND startsWith(Settings['log_comment'], {quote_string(prefix)})"
        )
        keys = ("read_rows", "read_bytes", "written_rows", "written_bytes", "total_rows_to_read", "elapsed_ns")
        conn = chdb.connect(self._path)
        try:
            rows = bytes(conn.query(sql, "JSONCompactEachRow").bytes()).splitlines()
        except Exception as exc:
            raise QueryError.from_engine(exc) from exc
        finally:
            conn.close()
        progress: dict[str, dict[str, int]] = {}
        for row in rows:
            tag, *values = json.loads(row)
            progress[tag] = {key: int(value) for key, value in zip(keys, values, strict=True)}
        return progress

    def _connect(self):
        """A new connection handle to the engine this process owns."""
        if self._session is None:
            raise QueryError(1001, "The warehouse engine is closed", "STD_EXCEPTION")
        try:
            return chdb.connect(self._path)
        except Exception as exc:
            raise QueryError.from_engine(exc) from exc

    def _handle(self, spec: QuerySpec):
        """A fresh handle with the request's database, settings, limits, tag and readonly level."""
        if spec.output_format.lower() in _PYTHON_FORMATS:
            raise QueryError(73, f"Unknown format {spec.output_format}", "UNKNOWN_FORMAT")
        conn = self._connect()
        try:
            if spec.database:
                conn.query(f"USE {quote_identifier(spec.database)}", "TabSeparated")
            _configure(conn, spec)
            if spec.readonly:
                conn.query(f"SET readonly = {int(spec.readonly)}", "TabSeparated")
        except Exception as exc:
            conn.close()
            raise QueryError.from_engine(exc) from exc
        return conn

    def close(self) -> None:
        with self._lock:
            if self._session is not None:
                self._session.close()
                self._session = None
                log.info("chDB session on %s closed", self._path)


class SessionHandle:
    """One engine handle a session keeps for its temporary tables; one request at a time uses it
    (the session's lock), and ``prepare`` makes it that request's."""

    def __init__(self, conn) -> None:
        self._conn = conn
        self._applied: frozenset[str] = frozenset()  # the settings the last request set on it

    def query(self, sql: str) -> bytes:
        try:
            return bytes(self._conn.query(sql, "TabSeparated").bytes())
        except Exception as exc:
            raise QueryError.from_engine(exc) from exc

    def prepare(self, spec: QuerySpec):
        """The handle with this request's database, settings, limits and tag (and none of the last one's)."""
        if self._conn is None:
            raise QueryError(372, "The session ended (its handle is closed)", "SESSION_NOT_FOUND")
        conn = self._conn
        try:
            conn.query(f"USE {quote_identifier(spec.database or 'default')}", "TabSeparated")
            stale = self._applied - spec.settings.keys() - spec.profile.keys()
            if stale:  # the last request's URL settings were its own
                conn.query("SET " + ", ".join(f"{name} = DEFAULT" for name in sorted(stale)), "TabSeparated")
            _configure(conn, spec)
        except Exception as exc:
            raise QueryError.from_engine(exc) from exc
        self._applied = frozenset(spec.settings)
        return conn

    def temporary_tables(self) -> frozenset[str]:
        """The names of the temporary tables the session has now (one row, so no result limit cuts it)."""
        text = self.query("SELECT groupArray(name) AS names FROM system.tables WHERE is_temporary FORMAT JSONEachRow")
        return frozenset(json.loads(text or b'{"names":[]}')["names"])

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _configure(conn, spec: QuerySpec) -> None:
    """The request's settings, then the account's limits (after them, so that they win), then its tag."""
    if spec.settings:
        assignments = ", ".join(f"{name} = {quote_string(value)}" for name, value in spec.settings.items())
        conn.query(f"SET {assignments}", "TabSeparated")
    if spec.profile:
        assignments = ", ".join(f"{name} = {value!r}" for name, value in spec.profile.items())
        conn.query(f"SET {assignments}", "TabSeparated")
    if spec.tag:
        conn.query(f"SET log_comment = {quote_string(spec.tag)}", "TabSeparated")


class Stream:
    """A running query's result, chunk by chunk; ``close`` (always) cancels what is left (and closes the
    handle, unless it is a session's)."""

    def __init__(self, conn, result, joiner: Joiner, *, owned: bool = True) -> None:
        self._conn = conn
        self._owned = owned
        self._result = result
        self._joiner = joiner
        self._totals = dict.fromkeys(_TOTALS, 0) | {"elapsed": 0.0}

    def next(self) -> bytes | None:
        """The next chunk, or None at the end; a failure of the query raises QueryError."""
        try:
            chunk = self._result.fetch()
        except Exception as exc:
            raise QueryError.from_engine(exc) from exc
        if chunk is None:
            return None
        totals = self._totals
        for key, value in _counts(chunk).items():  # each chunk's own share
            totals[key] += value
        totals["elapsed"] = max(totals["elapsed"], chunk.elapsed())
        return self._joiner.join(chunk.bytes())

    @property
    def summary(self) -> dict[str, str]:
        """X-ClickHouse-Summary of what was read so far."""
        return _as_summary(self._totals, self._totals["elapsed"])

    def close(self) -> None:
        try:
            self._result.cancel()
        except Exception as exc:  # already finished or failed: nothing left to cancel
            log.debug("cancel of a finished stream: %s", exc)
        finally:
            if self._owned:
                self._conn.close()


def _changed_settings(conn) -> dict[str, str]:
    """The handle's changed settings, in one row (so a max_result_rows the statement just set cannot cut it).
    chDB keeps the current database as a setting too (``database``, which USE changes): it is the
    session's database, not one of its settings, or it would undo a later request's own ``database``."""
    sql = "SELECT groupArray(name), groupArray(value) FROM system.settings WHERE changed AND name != 'database'"
    names, values = json.loads(bytes(conn.query(sql, "JSONCompactEachRow").bytes()))
    return dict(zip(names, values, strict=True))


_TOTALS = ("read_rows", "read_bytes", "written_rows", "written_bytes", "result_rows", "result_bytes")


def _counts(result) -> dict[str, int]:
    """A result's (or a streamed chunk's) counts. chDB's ``rows_read`` is the result's rows (measured: 1
    for a count() over millions); what was read from tables is its ``storage_rows_read``, as the
    running query's read_rows in system.processes."""
    return {
        "read_rows": result.storage_rows_read(),
        "read_bytes": result.storage_bytes_read(),
        "written_rows": result.rows_written(),
        "written_bytes": result.bytes_written(),
        "result_rows": result.rows_read(),
        "result_bytes": result.bytes_read(),
    }


def _as_summary(counts: Mapping[str, int], elapsed: float) -> dict[str, str]:
    return {
        "read_rows": str(counts["read_rows"]),
        "read_bytes": str(counts["read_bytes"]),
        "written_rows": str(counts["written_rows"]),
        "written_bytes": str(counts["written_bytes"]),
        "total_rows_to_read": str(counts["read_rows"]),  # all of it, once read
        "result_rows": str(counts["result_rows"]),
        "result_bytes": str(counts["result_bytes"]),
        "elapsed_ns": str(int(elapsed * 1_000_000_000)),
    }


def _summary(result) -> dict[str, str]:
    """X-ClickHouse-Summary, as far as chDB reports it (like a server, a deduplicated INSERT
    still reports the rows it was sent as written)."""
    return _as_summary(_counts(result), result.elapsed())
