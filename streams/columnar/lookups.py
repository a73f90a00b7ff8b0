"""Reference-data answers for a batch, asked once per distinct key the batch holds.

The reference tables (``streams.refdata.protocols``) answer lookups, they are not enumerable; and a
point-in-time answer (ODS roles and successions on the test date, a code's versions and grace window)
is a small tree walk no column expression expresses. So each question is asked once per *distinct key*
of the batch (a site and a test date, a NICIP code and a date) with the shared per-key functions of
``streams.rules`` and ``streams.derive`` - memoised per table version by ``streams.memo``, so a later
batch asks only about keys it has not seen - and the answers are mapped back onto the rows. A batch of
a month's records has thousands of distinct keys, not hundreds of thousands of rows.

``Lookups`` gathers the questions of one stage and answers them together. A large batch takes one
polars query for every question's distinct keys, and one ``with_columns`` maps every answer back
(``replace_strict`` on the key, the parts joined by a unit separator). A small one (the stream's live
batches) is answered row by row in Python and its answers added as plain columns: a polars query costs
about half a millisecond however few its rows, and planning the mapping expressions cost more than that.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

_SEPARATOR = "\x1f"
SMALL_BATCH = 2_000  # rows up to which distinct keys are found in Python rather than by a query


@dataclass(frozen=True)
class _Question:
    keys: tuple[str, ...]
    answer: Callable[..., Any]
    schema: dict[str, pl.DataType]


def _joined(keys: Sequence[str]) -> pl.Expr:
    """One text key for the parts, null when any part is null. Each part is prefixed by its length, so
    that no two tuples give the same key whatever characters a hostile value holds."""
    if len(keys) == 1:
        return pl.col(keys[0]).cast(pl.String)
    parts = []
    for k in keys:
        text = pl.col(k).cast(pl.String)
        parts += [text.str.len_chars().cast(pl.String), pl.lit(":"), text]
    return pl.concat_str(parts, separator=_SEPARATOR)


def _key_text(parts: tuple) -> str:
    """``_joined`` in Python, for one tuple of key parts."""
    if len(parts) == 1:
        return _text(parts[0])
    return _SEPARATOR.join(f"{len(text)}{_SEPARATOR}:{_SEPARATOR}{text}" for text in map(_text, parts))


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
        if frame.height <= SMALL_BATCH:
            return self._answered_per_row(frame)
        columns = []
        for question, distinct in zip(self.questions, self._distinct(frame), strict=True):
            keys = [_key_text(parts) for parts in distinct]
            answers = [question.answer(*parts) for parts in distinct]
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

    def _answered_per_row(self, frame: pl.DataFrame) -> pl.DataFrame:
        """A small batch (the stream's live ones): the answers laid out row by row in Python and added as
        plain columns. Mapping them back with expressions (``replace_strict`` over the keys, the parts
        joined as text) cost polars more planning than the whole batch's data: ~7 ms a stage of a
        20-event batch."""
        values = {k: frame.get_column(k).to_list() for q in self.questions for k in q.keys}
        columns = []
        for question in self.questions:
            answers: dict[tuple, Any] = {}
            per_row = []
            for parts in zip(*(values[k] for k in question.keys), strict=True):
                if None in parts:
                    per_row.append(None)
                    continue
                if parts not in answers:
                    answers[parts] = question.answer(*parts)
                per_row.append(answers[parts])
            names = list(question.schema)
            if len(names) == 1:
                columns.append(pl.Series(names[0], per_row, dtype=question.schema[names[0]]))
                continue
            for i, name in enumerate(names):
                part = [None if answer is None else answer[i] for answer in per_row]
                columns.append(pl.Series(name, part, dtype=question.schema[name]))
        return frame.with_columns(columns)

    def _distinct(self, frame: pl.DataFrame) -> list[list[tuple]]:
        """Each question's distinct non-null key tuples. A small batch (the stream's live ones) is read
        out directly: a polars query costs about half a millisecond however few its rows; a large one is
        one polars query for all the questions."""
        if frame.height <= SMALL_BATCH:
            values = {k: frame.get_column(k).to_list() for q in self.questions for k in q.keys}
            return [
                list(dict.fromkeys(p for p in zip(*(values[k] for k in q.keys), strict=True) if None not in p))
                for q in self.questions
            ]
        found = pl.collect_all(
            [
                frame.lazy().select(q.keys).filter(pl.all_horizontal(pl.col(k).is_not_null() for k in q.keys)).unique()
                for q in self.questions
            ]
        )
        return [distinct.rows() for distinct in found]


def _text(part) -> str:
    """A key part as polars casts it to text (booleans as ``true``/``false``)."""
    if isinstance(part, bool):
        return "true" if part else "false"
    return str(part)


def join_answers(
    frame: pl.DataFrame, keys: Sequence[str], answer: Callable[..., Any], schema: dict[str, pl.DataType]
) -> pl.DataFrame:
    """One question answered at once (``Lookups``)."""
    lookups = Lookups()
    lookups.ask(keys, answer, schema)
    return lookups.answered(frame)
