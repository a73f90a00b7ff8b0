"""Reference-data answers for a batch, asked once per distinct key the batch holds.

The reference tables (``streams.refdata.protocols``) answer lookups, they are not enumerable; and a
point-in-time answer (ODS roles and successions on the test date, a code's versions and grace window)
is a small tree walk no column expression expresses. So each question is asked once per *distinct key*
of the batch (a site and a test date, a NICIP code and a date) with the shared per-key functions of
``streams.rules`` and ``streams.derive`` - memoised per table version by ``streams.memo``, so a later
batch asks only about keys it has not seen - and the answers are mapped back onto the rows. A batch of
a month's records has thousands of distinct keys, not hundreds of thousands of rows.

``Lookups`` gathers the questions of one stage and answers them together: one query finds every
question's distinct keys, and one ``with_columns`` maps every answer back (``replace_strict`` on the key,
the parts joined by a unit separator). A small batch costs a handful of queries, not one per question.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

_SEPARATOR = "\x1f"


@dataclass(frozen=True)
class _Question:
    keys: tuple[str, ...]
    answer: Callable[..., Any]
    schema: dict[str, pl.DataType]


def _joined(keys: Sequence[str]) -> pl.Expr:
    """One text key for the parts (null when any part is null)."""
    if len(keys) == 1:
        return pl.col(keys[0]).cast(pl.String)
    return pl.concat_str([pl.col(k).cast(pl.String) for k in keys], separator=_SEPARATOR)


class Lookups:
    """The questions of one stage: ``ask`` each, then ``answered(frame)`` adds every answer column."""

    def __init__(self) -> None:
        self.questions: list[_Question] = []

    def ask(self, keys: Sequence[str], answer: Callable[..., Any], schema: dict[str, pl.DataType]) -> None:
        """Columns ``schema``: ``answer(*key_values)`` for each distinct non-null combination of ``keys``
        (a tuple when ``schema`` has several columns), null where a key part is null."""
        self.questions.append(_Question(tuple(keys), answer, dict(schema)))

    def answered(self, frame: pl.DataFrame) -> pl.DataFrame:
        if not self.questions:
            return frame
        distinct = pl.collect_all(
            [
                frame.lazy()
                .select(_joined(q.keys).alias("_key"), *q.keys)
                .filter(pl.col("_key").is_not_null())
                .unique(subset=["_key"])
                for q in self.questions
            ]
        )
        columns = []
        for question, found in zip(self.questions, distinct, strict=True):
            keys = found.get_column("_key").to_list()
            answers = [question.answer(*row) for row in found.select(question.keys).iter_rows()]
            names = list(question.schema)
            per_column = [answers] if len(names) == 1 else [list(part) for part in zip(*answers, strict=True)]
            if not answers:
                per_column = [[] for _ in names]
            key = _joined(question.keys)
            for name, values in zip(names, per_column, strict=True):
                dtype = question.schema[name]
                mapped = key.replace_strict(keys, pl.Series(values, dtype=dtype), default=None, return_dtype=dtype)
                columns.append(mapped.alias(name))
        return frame.with_columns(columns)


def join_answers(
    frame: pl.DataFrame, keys: Sequence[str], answer: Callable[..., Any], schema: dict[str, pl.DataType]
) -> pl.DataFrame:
    """One question answered at once (``Lookups``)."""
    lookups = Lookups()
    lookups.ask(keys, answer, schema)
    return lookups.answered(frame)
