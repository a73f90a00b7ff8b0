"""What a command says when ClickHouse is away or refuses its queries: one wording for every command."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import click


@contextlib.contextmanager
def warehouse_errors(what: str) -> Iterator[None]:
    """Turn an unreachable warehouse or a refused query into a ClickException naming ``what`` was refused."""
    from sinks.clickhouse import DatabaseError, OperationalError, WarehouseUnavailableError

    try:
        yield
    except WarehouseUnavailableError as exc:
        raise click.ClickException(str(exc)) from exc
    except (DatabaseError, OperationalError) as exc:
        raise click.ClickException(
            f"ClickHouse refused {what}: {str(exc).strip().splitlines()[0]} "
            "(is the warehouse up and `dids db migrate` done?)"
        ) from exc
