"""The stream's verdict on each HL7 event, for the listener's application acknowledgement (pure).

Only events that came from the HL7 listener (``source`` = ``hl7``) get one: nobody waits on a verdict
for an extract row or a simulated event. A feedback record carries the event id, the verdict, whether
the event had been seen before, and every failed national rule (code, severity, the items it names,
its national wording): never a patient value or any other submitted value.

A requested or scheduled examination is not judged by the stream (nothing is published before the
test); its feedback still reports the rules its items already fail, so a RIS hears about an invalid NHS
number when the order is placed, not after the scan. The one rule a pending examination fails by being
pending (DIDS050, test date blank) is left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import polars as pl

from streams.columnar.cleansing import raw_frame
from streams.columnar.engine import Options, failures, outcome, prepare
from streams.evaluate import StreamContext
from streams.lifecycle import merge
from streams.process import Routed
from streams.rules.registry import RULES

HL7 = "hl7"  # the source of the events that get feedback
# failed by a requested or scheduled examination only because it has not happened yet
NOT_YET = frozenset({"DIDS050"})
VERDICTS = ("accepted", "rejected", "pending", "cancelled", "withdrawn", "stale")

Failure = tuple[str, str, tuple[str, ...]]  # code, severity name, item names


def feedback_records(
    ctx: StreamContext, events: Sequence[dict[str, Any]], routed: Sequence[Routed], now: datetime | None = None
) -> list[dict[str, Any]]:
    """One feedback record (Avro ``examination_feedback``) per HL7 event of a judged batch, in order."""
    wanted = [(event, result) for event, result in zip(events, routed, strict=True) if event.get("source") == HL7]
    pending = [
        result.state if result.state is not None else merge(None, event).state
        for event, result in wanted
        if result.verdict is not None and result.verdict.kind == "pending"
    ]
    pending_failures = iter(judge_pending(ctx, pending))
    stamp = int((now or datetime.now(UTC)).timestamp() * 1000)
    records = []
    for event, result in wanted:
        verdict = result.verdict.kind if result.verdict is not None else "stale"
        failed: Sequence[Failure] = ()
        if verdict == "pending":
            failed = next(pending_failures)
        elif verdict in ("accepted", "rejected"):
            failed = result.verdict.failures
        records.append(
            {
                "event_id": event["event_id"],
                "verdict": verdict,
                "duplicate": result.outcome == "duplicate",
                "processed_time": stamp,
                "failures": [_failure(code, severity, fields) for code, severity, fields in failed],
            }
        )
    return records


def judge_pending(ctx: StreamContext, states: Sequence[dict[str, Any]]) -> list[list[Failure]]:
    """The national rules a requested or scheduled examination's items already fail (DIDS050 aside),
    judged by the same columnar engine as every examination."""
    if not states:
        return []
    raw = raw_frame([state["items"] for state in states]).with_columns(
        pl.Series("submitted_ms", [state["received_time"] for state in states], dtype=pl.Int64),
        pl.Series("duplicate", [None] * len(states), dtype=pl.Boolean),  # DIDS071 needs a whole file
        pl.Series("submitter_org", [state["meta"].get("submitter_org") for state in states], dtype=pl.String),
    )
    options = Options(refdata=ctx.refdata, grace=ctx.grace)
    rows = outcome(prepare(raw, options), options).select("rejects", "warnings", pl.col("^r_DIDS.*$"))
    return [[f for f in failures(row) if f[0] not in NOT_YET] for row in rows.iter_rows(named=True)]


def _failure(code: str, severity: str, fields: Sequence[str]) -> dict[str, Any]:
    return {
        "code": code,
        "severity": "warning" if severity == "WARNING" else "error",
        "fields": list(fields),
        "description": RULES[code].description,
    }
