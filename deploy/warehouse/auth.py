"""The warehouse's two accounts and what each may run.

``default`` is the admin (a password is required: no credentials is no login). The analyst account is
read-only: its queries run with the engine setting ``readonly=1`` (no writes, no DDL, no setting
changes), after its locked profile of limits. The checks here give the clear READONLY error first;
what any statement may touch (files, URLs, which tables) is read from its parse tree in
``deploy.warehouse.guard``. ``INTO OUTFILE`` and ``FROM INFILE`` are refused to everyone, as ClickHouse
refuses them over HTTP.

Credentials come the ways ClickHouse accepts them: HTTP basic auth, the ``X-ClickHouse-User`` /
``X-ClickHouse-Key`` headers, or ``user`` / ``password`` URL parameters.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field

from deploy.warehouse.errors import QueryError, readonly_error
from deploy.warehouse.guard import ANALYST_TABLES, LINKAGE_TABLES
from deploy.warehouse.sql import READ_KINDS, Statement
from dids.kernel.errors import ConfigError
from dids.kernel.settings import Settings

ADMIN_USER = "default"


@dataclass(frozen=True)
class User:
    name: str
    readonly: int  # the ClickHouse `readonly` level the account is held to: 0 or 1
    profile: Mapping[str, int | str] = field(default_factory=dict)  # limits set after the client's settings
    tables: frozenset[str] = ANALYST_TABLES  # what a read-only account reads of the DIDS database


_GIB = 1 << 30
ADMIN_PROFILE = {"max_execution_time": 3600, "max_memory_usage": 8 * _GIB, "max_parser_depth": 1000}


def analyst_profile(max_seconds: float) -> dict[str, int | str]:
    return {
        "max_execution_time": max(1, int(max_seconds)),
        "timeout_overflow_mode": "throw",
        "max_memory_usage": 2 * _GIB,
        "max_result_rows": 10_000_000,
        "max_result_bytes": _GIB,
        "result_overflow_mode": "throw",
        "max_parser_depth": 300,
    }


# settings a read-only account may still send (output shape only), as a server's readonly=2 constraints would
_ANALYST_SETTINGS = ("output_format_", "format_", "date_time_output_format", "session_timezone", "extremes")


@dataclass(frozen=True)
class Accounts:
    admin_password: str
    analyst_user: str = "analyst"
    analyst_password: str = "analyst"
    analyst_max_seconds: float = 60.0
    # the cancer-registry feed's account: reads linkage_feed only; no password, no account
    linkage_user: str = "linkage"
    linkage_password: str = ""

    def __post_init__(self):
        if not self.admin_password:
            raise ConfigError("the warehouse needs an admin password (DIDS_ADMIN_PASSWORD or DIDS_ADMIN_PASSWORD_FILE)")

    @classmethod
    def from_settings(cls, settings: Settings) -> Accounts:
        return cls(
            settings.admin_password,
            settings.analyst_user,
            settings.analyst_password,
            settings.warehouse_analyst_max_seconds,
            settings.linkage_user,
            settings.linkage_password,
        )

    def authenticate(self, headers: Mapping[str, str], params: Mapping[str, str]) -> User:
        name, password = credentials(headers, params)
        if name == ADMIN_USER and _same(password, self.admin_password):
            return User(ADMIN_USER, readonly=0, profile=ADMIN_PROFILE)
        if (
            self.analyst_user
            and self.analyst_password
            and name == self.analyst_user
            and _same(password, self.analyst_password)
        ):
            return User(name, readonly=1, profile=analyst_profile(self.analyst_max_seconds))
        if (
            self.linkage_user
            and self.linkage_password
            and name == self.linkage_user
            and name not in (ADMIN_USER, self.analyst_user)
            and _same(password, self.linkage_password)
        ):
            return User(name, readonly=1, profile=analyst_profile(self.analyst_max_seconds), tables=LINKAGE_TABLES)
        raise QueryError(
            516,
            f"{name}: Authentication failed: password is incorrect, or there is no user with such name",
            "AUTHENTICATION_FAILED",
        )


def credentials(headers: Mapping[str, str], params: Mapping[str, str]) -> tuple[str, str]:
    """(user, password) from the request; no credentials at all means ``default`` with no password,
    which never logs in (the admin always has a password)."""
    auth = headers.get("Authorization", "")
    if auth[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(auth[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise QueryError(516, "Invalid Authorization header", "AUTHENTICATION_FAILED") from exc
        user, _, password = decoded.partition(":")
        return user or ADMIN_USER, password
    if auth:
        raise QueryError(516, "Unsupported Authorization scheme (use Basic)", "AUTHENTICATION_FAILED")
    if "X-ClickHouse-User" in headers or "X-ClickHouse-Key" in headers:
        return headers.get("X-ClickHouse-User") or ADMIN_USER, headers.get("X-ClickHouse-Key", "")
    return params.get("user") or ADMIN_USER, params.get("password", "")


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def authorize(user: User, statement: Statement, readonly: int, *, temporary: bool = False) -> None:
    """Refuse what a read-only request may not run before it reaches the engine.

    ``readonly`` is the request's effective level (the account's, GET's 2, or a URL setting).
    ``temporary``: the statement writes nothing but temporary tables (of the request's session, for a
    read-only account), which ``readonly=2`` permits.
    """
    if statement.outfile:
        raise QueryError(448, "INTO OUTFILE is not allowed", "INTO_OUTFILE_NOT_ALLOWED")
    if statement.infile:
        raise QueryError(
            48, "FROM INFILE is not supported over HTTP: send the data in the request body", "NOT_IMPLEMENTED"
        )
    if statement.kind in READ_KINDS or not (user.readonly or readonly):
        return
    if temporary and (user.readonly or readonly == 2):
        return
    raise readonly_error(user.name)


def authorize_settings(user: User, settings: Mapping[str, str]) -> dict[str, int | str]:
    """The account's limits for this request, after checking the settings it sent.

    A read-only account may send settings that shape the output, and may lower (never raise) one of
    its limits, as a ClickHouse server's readonly=2 with ``max`` constraints allows; anything else is
    refused the way a server refuses it in readonly mode. The admin may send any setting; its limits
    are applied after them all the same."""
    profile = dict(user.profile)
    for name, value in settings.items():
        if not user.readonly or name.startswith(_ANALYST_SETTINGS):
            continue
        limit = profile.get(name)
        if isinstance(limit, int) and _number(value) is not None and 0 < _number(value) <= limit:
            profile[name] = int(_number(value))
            continue
        raise QueryError(164, f"Cannot modify '{name}' setting in readonly mode", "READONLY")
    return profile


def _number(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None
