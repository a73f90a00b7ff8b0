"""The warehouse's two accounts and what each may run.

``default`` is the admin (optional password). The analyst account is read-only: its queries run
with the engine setting ``readonly=1`` (no writes, no DDL, no setting changes, no table functions),
and a statement check in front refuses writes with a clear READONLY error first and closes the
gaps ``readonly=1`` leaves in an embedded engine: the scalar ``file()`` function reads, and
``INTO OUTFILE`` writes, the server's own files (the latter is refused to everyone, as ClickHouse
refuses it over HTTP).

Credentials come the ways ClickHouse accepts them: HTTP basic auth, the ``X-ClickHouse-User`` /
``X-ClickHouse-Key`` headers, or ``user`` / ``password`` URL parameters.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from dids.settings import Settings
from sinks.warehouse.errors import QueryError, readonly_error
from sinks.warehouse.sql import READ_KINDS, Statement

ADMIN_USER = "default"


@dataclass(frozen=True)
class User:
    name: str
    readonly: int  # the ClickHouse `readonly` level the account is held to: 0 or 1


@dataclass(frozen=True)
class Accounts:
    admin_password: str = ""
    analyst_user: str = "analyst"
    analyst_password: str = "analyst"

    @classmethod
    def from_settings(cls, settings: Settings) -> Accounts:
        return cls(settings.admin_password, settings.analyst_user, settings.analyst_password)

    def authenticate(self, headers: Mapping[str, str], params: Mapping[str, str]) -> User:
        name, password = credentials(headers, params)
        if name == ADMIN_USER and _same(password, self.admin_password):
            return User(ADMIN_USER, readonly=0)
        if self.analyst_user and name == self.analyst_user and _same(password, self.analyst_password):
            return User(name, readonly=1)
        raise QueryError(
            516,
            f"{name}: Authentication failed: password is incorrect, or there is no user with such name",
            "AUTHENTICATION_FAILED",
        )


def credentials(headers: Mapping[str, str], params: Mapping[str, str]) -> tuple[str, str]:
    """(user, password) from the request; no credentials at all means ``default`` with no password."""
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


def authorize(user: User, statement: Statement, readonly: int) -> None:
    """Refuse what a read-only request may not run before it reaches the engine.

    ``readonly`` is the request's effective level (the account's, GET's 2, or a URL setting).
    """
    if statement.outfile:
        raise QueryError(448, "INTO OUTFILE is not allowed", "INTO_OUTFILE_NOT_ALLOWED")
    if statement.infile:
        raise QueryError(
            48, "FROM INFILE is not supported over HTTP: send the data in the request body", "NOT_IMPLEMENTED"
        )
    if statement.file_function and (readonly or user.readonly):
        raise readonly_error(user.name)
    if user.readonly and statement.kind not in READ_KINDS:
        raise readonly_error(user.name)
