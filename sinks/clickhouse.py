"""The one path to ClickHouse: every module gets its client here (clickhouse-connect over HTTP).

The same code talks to a ClickHouse server or to the embedded `dids warehouse`.
"""

from __future__ import annotations

from urllib.parse import urlparse

import clickhouse_connect
from clickhouse_connect.driver.exceptions import DatabaseError, DataError, OperationalError

from dids.kernel.errors import DidsError
from dids.kernel.secrets import ADMIN_PASSWORD, stored_secret
from dids.kernel.settings import Settings

__all__ = ["DataError", "DatabaseError", "OperationalError", "WarehouseUnavailableError", "connect", "server_client"]


ADMIN_USER = "default"


class WarehouseUnavailableError(DidsError):
    """ClickHouse cannot be reached."""


def _client(settings: Settings, *, database: str | None, user: str | None = None, password: str | None = None):
    url = urlparse(settings.clickhouse_url)
    try:
        return clickhouse_connect.get_client(
            host=url.hostname or "127.0.0.1",
            port=url.port or (8443 if url.scheme == "https" else 8123),
            secure=url.scheme == "https",
            username=user or settings.clickhouse_user,
            password=login_password(settings) if password is None else password,
            database=database or "",
            compress="lz4",
            connect_timeout=5,
            send_receive_timeout=120,
            autogenerate_session_id=False,
        )
    except OperationalError as exc:
        raise WarehouseUnavailableError(
            f"ClickHouse is not reachable at {settings.clickhouse_url} ({exc}); "
            "start it with `dids up` or set DIDS_CLICKHOUSE_URL"
        ) from exc


def login_password(settings: Settings) -> str:
    """DIDS_CLICKHOUSE_PASSWORD; for the admin account of the local warehouse, its admin password
    (DIDS_ADMIN_PASSWORD, or the one `dids up` generated under DIDS_HOME/secrets)."""
    if settings.clickhouse_password or settings.clickhouse_user != ADMIN_USER:
        return settings.clickhouse_password
    return settings.admin_password or stored_secret(settings.home, ADMIN_PASSWORD)


def connect(settings: Settings, *, user: str | None = None, password: str | None = None):
    """A client whose default database is ``settings.clickhouse_database``."""
    return _client(settings, database=settings.clickhouse_database, user=user, password=password)


def server_client(settings: Settings):
    """A client with no default database (for creating it)."""
    return _client(settings, database=None)
