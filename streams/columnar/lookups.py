"""Reference-data answers for a batch, as joins on the distinct keys the batch holds.

The reference tables (``streams.refdata.protocols``) answer lookups, they are not enumerable; and a
point-in-time answer (ODS roles and successions on the test date, a code's versions and grace window)
is a small tree walk no column expression expresses. So each question is asked once per *distinct key*
of the batch (a site and a test date, a NICIP code and a date) with the shared per-key functions of
``streams.rules`` and ``streams.derive`` - memoised per table version by ``streams.memo``, so a later
batch asks only about keys it has not seen - and the answers are joined back onto the rows. A batch of a
month's records has thousands of distinct keys, not hundreds of thousands of rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import polars as pl

from streams.formats import CalendarDate


def join_answers(
    frame: pl.DataFrame,
    keys: Sequence[str],
    answer: Callable[..., Any],
    schema: dict[str, pl.DataType],
) -> pl.DataFrame:
    """``frame`` with the columns of ``schema`` added: ``answer(*key_values)`` for each distinct non-null
    combination of ``keys`` (a tuple when ``schema`` has several columns), null where a key part is null."""
    names = list(schema)
    distinct = frame.select(keys).filter(pl.all_horizontal(pl.col(k).is_not_null() for k in keys)).unique()
    values = [answer(*row) for row in distinct.iter_rows()]
    if len(names) > 1:
        values = list(zip(*values, strict=True)) if values else [[] for _ in names]
    columns = dict(zip(names, values if len(names) > 1 else [values], strict=True))
    answers = pl.concat([distinct, pl.DataFrame(columns, schema=schema)], how="horizontal")
    return frame.join(answers, on=list(keys), how="left", maintain_order="left", nulls_equal=False)


def calendar_date(year: int | None, month: int | None, day: int | None) -> CalendarDate | None:
    return None if year is None else CalendarDate(year, month, day)
