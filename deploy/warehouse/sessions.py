"""HTTP sessions as a ClickHouse server keeps them: ``session_id``, ``session_timeout``, ``session_check``.

A session belongs to the account that opened it (the same id from another account is another
session), lives ``session_timeout`` seconds (default 60, at most 3600: a server's
``default_session_timeout`` and ``max_session_timeout``) after its last request, serves one request at
a time (a second one meanwhile gets SESSION_IS_LOCKED), and with ``session_check=1`` a request for a
session that does not exist (or expired) gets SESSION_NOT_FOUND instead of a new one.

What lives in it: the settings its SET statements changed and the database its USE chose; every request
on its own fresh engine handle starts from them (its own URL settings on top). The read-only analyst
may SET what its account may send as URL settings (output formats, lower limits), as a server's
``readonly=2`` profile with constraints allows. Temporary tables need the engine handle to outlive the
request, which it does not here: CREATE TEMPORARY TABLE in a session is refused with that reason.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from deploy.warehouse.errors import QueryError

DEFAULT_TIMEOUT = 60
MAX_TIMEOUT = 3600
MAX_SESSIONS = 1000  # open at once, all accounts together
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


class Sessions:
    """The open sessions of this process (touched from the event loop only)."""

    def __init__(self, clock=time.monotonic, limit: int = MAX_SESSIONS) -> None:
        self._clock = clock
        self._limit = limit
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

    def _expire(self, now: float) -> None:
        for key in [key for key, s in self._open.items() if not s.busy and s.expires <= now]:
            del self._open[key]


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
