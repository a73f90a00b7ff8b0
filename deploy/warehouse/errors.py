"""Errors as ClickHouse reports them over HTTP: a numeric code, a symbolic name, a status.

clickhouse-connect turns the ``X-ClickHouse-Exception-Code`` header and the ``Code: N.
DB::Exception: ...`` body into ``DatabaseError(code=N, name=...)``, so callers can tell an
unknown table (60) from a refused write (164) exactly as they would against a server.
"""

from __future__ import annotations

import re

from dids.kernel.errors import DidsError

_CODE = re.compile(r"Code: (\d+)\. DB::Exception: ")
_NAME = re.compile(r"\(([A-Z][A-Z0-9_]+)\)\s*$")
_VERSION = re.compile(r"\.?\s*\([A-Z][A-Z0-9_]+\)\s*\(version [^)]*\)\.?")

# ClickHouse's HTTPHandler maps these exception names to HTTP statuses; anything else is 500.
# (It also answers 503 for a few I/O errors; we keep those at 500 because clickhouse-connect
# retries a 503 and a retry of a failed local query only fails again.)
_UNAUTHORIZED = frozenset({"AUTHENTICATION_FAILED", "UNKNOWN_USER", "WRONG_PASSWORD", "REQUIRED_PASSWORD"})
# a request body (or a block of it) over the warehouse's limits: 413, so that no client retries it as it is
_TOO_LARGE = frozenset({"TOO_LARGE_SIZE_COMPRESSED"})
_FORBIDDEN = frozenset({"READONLY", "ACCESS_DENIED", "FUNCTION_NOT_ALLOWED", "QUERY_IS_PROHIBITED"})
_BAD_REQUEST = frozenset(
    {
        "CANNOT_PARSE_TEXT",
        "CANNOT_PARSE_ESCAPE_SEQUENCE",
        "CANNOT_PARSE_QUOTED_STRING",
        "CANNOT_PARSE_DATE",
        "CANNOT_PARSE_DATETIME",
        "CANNOT_PARSE_NUMBER",
        "CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING",
        "CANNOT_PARSE_IPV4",
        "CANNOT_PARSE_IPV6",
        "CANNOT_PARSE_INPUT_ASSERTION_FAILED",
        "CANNOT_PARSE_UUID",
        "CANNOT_PARSE_BOOL",
        "DUPLICATE_COLUMN",
        "ILLEGAL_COLUMN",
        "UNKNOWN_ELEMENT_IN_AST",
        "UNKNOWN_TYPE_OF_AST_NODE",
        "TOO_DEEP_AST",
        "TOO_BIG_AST",
        "UNEXPECTED_AST_STRUCTURE",
        "SYNTAX_ERROR",
        "INCORRECT_DATA",
        "TYPE_MISMATCH",
        "VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE",
        "BAD_ARGUMENTS",
        "CANNOT_DECOMPRESS",
        "CHECKSUM_DOESNT_MATCH",
        "INVALID_SESSION_TIMEOUT",
        "UNKNOWN_COMPRESSION_METHOD",
        "UNKNOWN_QUERY_PARAMETER",
        "BAD_QUERY_PARAMETER",
    }
)
_NOT_FOUND = frozenset(
    {
        "UNKNOWN_TABLE",
        "UNKNOWN_FUNCTION",
        "UNKNOWN_IDENTIFIER",
        "UNKNOWN_TYPE",
        "UNKNOWN_STORAGE",
        "UNKNOWN_DATABASE",
        "UNKNOWN_SETTING",
        "UNKNOWN_DIRECTION_OF_SORTING",
        "UNKNOWN_AGGREGATE_FUNCTION",
        "UNKNOWN_FORMAT",
        "UNKNOWN_DATABASE_ENGINE",
        "UNKNOWN_TYPE_OF_QUERY",
        "DICTIONARY_NOT_EXIST",
        "SESSION_NOT_FOUND",
    }
)


class QueryError(DidsError):
    """A request the warehouse refuses or the engine fails; sent back as ClickHouse would."""

    def __init__(self, code: int, message: str, name: str | None = None, *, status: int | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.name = name
        self.status = status  # an HTTP status of its own, where the name's is not the right one

    @classmethod
    def from_engine(cls, exc: BaseException) -> QueryError:
        """Read ``Code: 60. DB::Exception: ... (UNKNOWN_TABLE)`` out of a chDB error."""
        text = str(exc).strip()
        match = _CODE.search(text)
        if match is None:
            return cls(1001, text or type(exc).__name__, "STD_EXCEPTION")
        rest = text[match.end() :]
        while (inner := _CODE.match(rest)) is not None:  # chDB nests the same error in itself
            rest = rest[inner.end() :]
        rest = _VERSION.sub("", rest)
        name = _NAME.search(rest)
        message = rest[: name.start()] if name else rest
        return cls(int(match.group(1)), message.rstrip(" ."), name.group(1) if name else None)

    @property
    def http_status(self) -> int:
        name = self.name or ""
        if self.status is not None:
            return self.status
        if name in _TOO_LARGE:
            return 413
        if name in _UNAUTHORIZED:
            return 401
        if name in _FORBIDDEN:
            return 403
        if name in _BAD_REQUEST:
            return 400
        if name in _NOT_FOUND:
            return 404
        if name == "NOT_IMPLEMENTED":
            return 501
        if name == "TOO_MANY_SIMULTANEOUS_QUERIES":
            return 503  # as a server answers it; clients retry it
        return 500

    def body(self, version: str) -> str:
        name = f" ({self.name})" if self.name else ""
        return f"Code: {self.code}. DB::Exception: {self.message}.{name} (version {version})\n"


def readonly_error(user: str) -> QueryError:
    return QueryError(164, f"{user}: Cannot execute query in readonly mode", "READONLY")
