"""HTTP sessions as a ClickHouse server keeps them: ``session_id``, ``session_timeout``, ``session_check``.

A session belongs to the account that opened it (the same id from another account is another
session), lives ``session_timeout`` seconds (default 60, at most 3600: a server's
``default_session_timeout`` and ``max_session_timeout``) after its last request, serves one request at
a time (a second one meanwhile gets SESSION_IS_LOCKED), and with ``session_check=1`` a request for a
session that does not exist (or expired) gets SESSION_NOT_FOUND instead of a new one.

What lives in it: the settings its SET statements changed, the database its USE chose, and its temporary
tables. Every request starts from the first two (its own URL settings on top, for that request only).
Requests run on a fresh engine handle each, until the session creates a temporary table: from then on it
owns one handle (``handle``), kept until the session ends, because a temporary table lives in the handle
that made it. The read-only analyst may SET what its account may send as URL settings (output formats,
lower limits) and keep temporary tables of its own, as a server's ``readonly=2`` profile with constraints
allows.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from deploy.warehouse.errors import QueryError

if TYPE_CHECKING:
    from deploy.warehouse.engine import SessionHandle

DEFAULT_TIMEOUT = 60
MAX_TIMEOUT = 3600
MAX_SESSIONS = 1000  # open at once, all accounts together
# sessions holding temporary tables at once: each keeps an engine handle and its tables in memory
MAX_HANDLES = 32
_ID = re.compile(r"^[A-Za-z0-9_.:@{}-]{1,128}$")


@dataclass
class Session:
    user: str
    session_id: str
    timeout: int
    expires: float = 0.0
    busy: bool = False
    settings: dict[str, str] = field(default_factory=dict)
    database: str | None = None
    handle: SessionHandle | None = None  # the engine handle of a session with temporary tables

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None


class Sessions:
    """The open sessions of this process (touched from the event loop only)."""

    def __init__(self, clock=time.monotonic, limit: int = MAX_SESSIONS, handles: int = MAX_HANDLES) -> None:
        self._clock = clock
        self._limit = limit
        self._handles = handles
        self._open: dict[tuple[str, str], Session] = {}

    def __len__(self) -> int:
        return len(self._open)

    def enter(self, user: str, session_id: str, timeout_text: str | None, check: bool) -> Session:
        """The session for this request, locked to it until ``leave``."""
        if not _ID.match(session_id):
            raise QueryError(
                36,
                "session_id must be 1 to 128 letters, digits or _ . : @ { } - characters",
                "BAD_ARGUMENTS",
            )
        timeout = _timeout(timeout_text)
        now = self._clock()
        self._expire(now)
        key = (user, session_id)
        session = self._open.get(key)
        if session is None:
            if check:
                raise QueryError(372, f"Session {session_id} not found (or it expired)", "SESSION_NOT_FOUND")
            if len(self._open) >= self._limit:
                raise QueryError(
                    202,
                    f"Too many open sessions ({self._limit}): close some, or wait for them to expire",
                    "TOO_MANY_SIMULTANEOUS_QUERIES",
                )
            session = self._open[key] = Session(user, session_id, timeout)
        if session.busy:
            raise QueryError(
                373, f"Session {session_id} is locked by a concurrent client: wait for its answer", "SESSION_IS_LOCKED"
            )
        session.busy = True
        if timeout_text is not None:
            session.timeout = timeout
        session.expires = now + session.timeout
        return session

    def leave(self, session: Session) -> None:
        session.busy = False
        session.expires = self._clock() + session.timeout
        if session.timeout == 0:  # ends with its request: its handle and temporary tables go now
            self._expire(self._clock())

    def may_hold_handle(self) -> None:
        """Raise unless one more session may keep an engine handle (for its temporary tables)."""
        if sum(1 for s in self._open.values() if s.handle is not None) >= self._handles:
            raise QueryError(
                202,
                f"Too many sessions with temporary tables ({self._handles}): wait for one to end (its "
                "session_timeout after its last request), or use a subquery",
                "TOO_MANY_SIMULTANEOUS_QUERIES",
            )

    def close(self) -> None:
        """End every session (the server is stopping)."""
        for session in self._open.values():
            session.close()
        self._open.clear()

    def _expire(self, now: float) -> None:
        for key in [key for key, s in self._open.items() if not s.busy and s.expires <= now]:
            self._open.pop(key).close()


def _timeout(text: str | None) -> int:
    if text is None or text == "":
        return DEFAULT_TIMEOUT
    if not text.isdigit():
        raise QueryError(
            374, f"Invalid session timeout: {text!r} is not a number of seconds", "INVALID_SESSION_TIMEOUT"
        )
    value = int(text)
    if value > MAX_TIMEOUT:
        raise QueryError(
            374,
            f"Session timeout {value} is larger than max_session_timeout: {MAX_TIMEOUT}. "
            "Maximum session timeout could be modified in configuration file",
            "INVALID_SESSION_TIMEOUT",
        )
    return value
