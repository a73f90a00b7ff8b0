"""URL parameters of a ClickHouse HTTP request: transport options, query parameters, settings.

ClickHouse treats every URL parameter that is not a transport option or a ``param_*`` query
parameter as a setting for that one query. The transport options steer the HTTP layer (compression,
sessions, the Native layout, progress headers); the other HTTP-only settings clients send as a matter
of course (wait_end_of_query, buffer sizes...) are accepted and dropped: they have no meaning for an
engine in the same process. None of them reaches the engine.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from deploy.warehouse.errors import QueryError
from deploy.warehouse.native import method_of

_SETTING_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# consumed by the HTTP layer itself
TRANSPORT = frozenset(
    {
        "query",
        "database",
        "default_format",
        "user",
        "password",
        "quota_key",
        "query_id",
        "session_id",
        "session_timeout",
        "session_check",
        "compress",
        "decompress",
        "buffer_size",
        "wait_end_of_query",
        "client_protocol_version",
        "role",
        "readonly",
        "enable_http_compression",
    }
)
# real settings that only steer the HTTP transport: never given to the engine (the progress ones are
# read here, the others dropped)
HTTP_ONLY = frozenset(
    {
        "http_zlib_compression_level",
        "send_progress_in_http_headers",
        "http_headers_progress_interval_ms",
        "cancel_http_readonly_queries_on_client_close",
        "http_wait_end_of_query",
        "http_response_buffer_size",
        "http_native_compression_disable_checksumming_on_decompress",
        "add_http_cors_header",
        "http_write_exception_in_output_format",
        "http_response_headers",
    }
)
# a server sends a progress header as often as asked (0: at every step of the query); this one no more
# often than every 100 ms (its default), so that a client cannot make it spin writing headers
PROGRESS_FLOOR_MS = 100
_UINT64_MAX = (1 << 64) - 1  # the setting's type on a server
# what aiohttp refuses in a header value (a header injection): a query id is echoed in one
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_TRUE = ("1", "true", "True")
_FALSE = ("", "0", "false", "False")


def _number(values: Mapping[str, str], name: str) -> int:
    value = values.get(name, "") or "0"
    if not value.isdigit():
        raise QueryError(72, f"Cannot parse {name}={value!r} as a number", "CANNOT_PARSE_NUMBER")
    return int(value)


def _progress_interval(values: Mapping[str, str]) -> float:
    """http_headers_progress_interval_ms in seconds: a UInt64 as on a server, raised to the floor."""
    name = "http_headers_progress_interval_ms"
    value = values.get(name)
    if value is None:
        return PROGRESS_FLOOR_MS / 1000
    if not (value.isascii() and value.isdigit() and len(value) <= 20 and int(value) <= _UINT64_MAX):
        raise QueryError(
            72,
            f"Cannot parse {name}={value[:40]!r} as UInt64: send a whole number of milliseconds "
            f"(at least {PROGRESS_FLOOR_MS}; a smaller one counts as {PROGRESS_FLOOR_MS})",
            "CANNOT_PARSE_NUMBER",
        )
    return max(int(value), PROGRESS_FLOOR_MS) / 1000


def safe_query_id(value: str | None) -> str | None:
    """The client's query id, or None if it could not go into a response header as it is."""
    return value if value and _CONTROL.search(value) is None else None


def _flag(values: Mapping[str, str], name: str) -> bool:
    """A boolean URL parameter as a server reads it (1/0, true/false); anything else is an error."""
    value = values.get(name, "0")
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise QueryError(72, f"Cannot parse {name}={value!r} as a boolean: use 1 or 0", "CANNOT_PARSE_NUMBER")


@dataclass(frozen=True)
class RequestParams:
    query: str = ""
    database: str | None = None
    default_format: str | None = None
    query_id: str | None = None
    readonly: int | None = None  # the `readonly` setting, when the request names it
    compress_response: bool = False  # enable_http_compression
    native_method: int | None = None  # compress=1: the response in ClickHouse's compressed blocks, this method
    native_request: bool = False  # decompress=1: the body is in ClickHouse's compressed blocks
    progress_headers: bool = False  # send_progress_in_http_headers
    progress_interval: float = PROGRESS_FLOOR_MS / 1000  # http_headers_progress_interval_ms, in seconds
    client_revision: int = 0  # client_protocol_version: the layout of Native blocks the client reads
    session_id: str | None = None
    session_timeout: str | None = None  # as sent: deploy.warehouse.sessions reads it
    session_check: bool = False
    settings: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)  # param_x=... -> {"x": ...}

    @classmethod
    def parse(cls, values: Mapping[str, str], headers: Mapping[str, str]) -> RequestParams:
        settings: dict[str, str] = {}
        params: dict[str, str] = {}
        for name, value in values.items():
            if name.startswith("param_"):
                params[name[len("param_") :]] = value
            elif name in TRANSPORT or name in HTTP_ONLY:
                continue
            elif not _SETTING_NAME.match(name):
                raise QueryError(115, f"Unknown setting '{name}'", "UNKNOWN_SETTING")
            else:
                settings[name] = value
        native_method = None
        if _flag(values, "compress"):
            native_method = method_of(values.get("network_compression_method"))
        query_id = values.get("query_id") or None
        if query_id is not None and safe_query_id(query_id) is None:
            raise QueryError(
                36, "query_id has a control character (a line break?): send printable text", "BAD_ARGUMENTS"
            )
        readonly = values.get("readonly")
        try:
            readonly_level = int(readonly) if readonly not in (None, "") else None
        except ValueError as exc:
            raise QueryError(72, f"Cannot parse readonly={readonly!r} as a number", "CANNOT_PARSE_NUMBER") from exc
        return cls(
            query=values.get("query", ""),
            database=values.get("database") or headers.get("X-ClickHouse-Database") or None,
            default_format=values.get("default_format") or headers.get("X-ClickHouse-Format") or None,
            query_id=query_id,
            readonly=readonly_level,
            compress_response=_flag(values, "enable_http_compression"),
            native_method=native_method,
            native_request=_flag(values, "decompress"),
            progress_headers=_flag(values, "send_progress_in_http_headers"),
            progress_interval=_progress_interval(values),
            client_revision=_number(values, "client_protocol_version"),
            session_id=values.get("session_id") or None,
            session_timeout=values.get("session_timeout"),
            session_check=_flag(values, "session_check"),
            settings=settings,
            params=params,
        )

    def readonly_level(self, account_level: int, method: str) -> int:
        """The request's effective `readonly`: a read-only account stays at 1, a GET is read-only
        (2, as in ClickHouse), and a request may tighten its level but never loosen it."""
        floor = account_level or (2 if method == "GET" else 0)
        wanted = self.readonly
        if wanted is None or wanted == floor:
            return floor
        if floor == 1 or (floor == 2 and wanted == 0):
            raise QueryError(164, "Cannot modify 'readonly' setting in readonly mode", "READONLY")
        return wanted
