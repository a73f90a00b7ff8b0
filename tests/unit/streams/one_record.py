"""One record through the columnar engine, for tests written about single records.

The product judges batches (``streams.columnar``); a test about one record's verdict or derived columns
asks the same engine with a batch of one (or of many, ``judge_many``), through these helpers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import Any

import polars as pl

from streams.columnar.cleansing import cleansed, raw_frame
from streams.columnar.derivations import derive as derive_columns
from streams.columnar.engine import Options, failures, outcome, prepare
from streams.derive.national import NATIONAL_COLUMNS
from streams.rules.context import Context, GracePeriod


@dataclass(frozen=True)
class Judged:
    """One record's verdict: the sorted code lists and every failure's (code, severity name, fields)."""

    accepted: bool
    rejects: list[str]
    warnings: list[str]
    not_checked: list[str]
    failures: list[tuple[str, str, tuple[str, ...]]]
    results: dict[str, int | None]  # r_<code> by code: None passed, 0 not checked, >= 1 failed

    def kind(self, code: str) -> str:
        value = self.results[code]
        return "pass" if value is None else "not_checked" if value == 0 else "fail"

    def fields(self, code: str) -> tuple[str, ...] | None:
        return next((fields for c, _, fields in self.failures if c == code), None)


def cleanse(items: Mapping[str, Any]) -> dict[str, str | None]:
    """The 18 cleansed items of one raw record."""
    return raw_frame([items]).select(cleansed()).row(0, named=True)


def _epoch_ms(context: Context) -> int | None:
    moment = context.submission_time
    if moment is None:
        return None
    return int((moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment).timestamp() * 1000)


def _frame(rows: Sequence[Mapping[str, Any]], context: Context, duplicate, submitter) -> tuple[pl.DataFrame, Options]:
    raw = raw_frame(rows).with_columns(
        pl.lit(_epoch_ms(context), pl.Int64).alias("submitted_ms"),
        pl.Series("duplicate", list(duplicate) if duplicate is not None else [None] * len(rows), dtype=pl.Boolean),
        pl.lit(submitter, pl.String).alias("submitter_org"),
    )
    options = Options(
        refdata=context.refdata, grace=context.grace, reference_month_formula=context.reference_month_formula
    )
    return prepare(raw, options), options


def judge_many(
    rows: Sequence[Mapping[str, Any]],
    context: Context,
    duplicate: Sequence[bool | None] | None = None,
    submitter: str | None = None,
) -> list[Judged]:
    frame, options = _frame(rows, context, duplicate, submitter)
    judged = outcome(frame, options)
    codes = [c.removeprefix("r_") for c in judged.columns if c.startswith("r_DIDS")]
    return [
        Judged(
            row["accepted"],
            row["rejects"],
            row["warnings"],
            row["not_checked"],
            failures(row),
            {code: row[f"r_{code}"] for code in codes},
        )
        for row in judged.iter_rows(named=True)
    ]


def judge(
    items: Mapping[str, Any], context: Context, duplicate: bool | None = None, submitter: str | None = None
) -> Judged:
    return judge_many([items], context, None if duplicate is None else [duplicate], submitter)[0]


def derive_many(
    rows: Sequence[Mapping[str, Any]],
    refdata=None,
    submitter: str | None = None,
    grace: GracePeriod | None = None,
) -> list[dict[str, Any]]:
    """Every national column of each record, plus ``age_at_event``, ``restricted`` and ``local_code``."""
    context = Context(refdata=refdata, grace=grace or GracePeriod())
    frame, options = _frame(rows, context, None, submitter)
    columns = [*NATIONAL_COLUMNS, "age_at_event", "restricted", "local_code"]
    return list(derive_columns(frame, options).select(columns).iter_rows(named=True))


def derive(items: Mapping[str, Any], refdata=None, submitter: str | None = None, grace=None) -> dict[str, Any]:
    return derive_many([items], refdata, submitter, grace)[0]
