"""The stream's verdict on each HL7 event, for the listener's application acknowledgement (pure).

Only events that came from the HL7 listener (``source`` = ``hl7``) get one: nobody waits on a verdict
for an extract row or a simulated event. A feedback record carries the event id, the verdict, whether
the event had been seen before, and every failed national rule (code, severity, the items it names,
its national wording): never a patient value or any other submitted value.

A requested or scheduled examination is not judged by the stream (nothing is published before the
test); its feedback still reports the rules its items already fail, so a RIS hears about an invalid NHS
number when the order is placed, not after the scan. ``streams.evaluate`` works them out in the batch's
one pass of the rules (a second pass would double the engine's fixed cost of a small live batch),
leaving out the one rule a pending examination fails by being pending (DIDS050, test date blank).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from streams.evaluate import PREVIEWED_SOURCE
from streams.process import Routed
from streams.rules.registry import RULES

HL7 = PREVIEWED_SOURCE  # the source of the events that get feedback
VERDICTS = ("accepted", "rejected", "pending", "cancelled", "withdrawn", "stale")

Failure = tuple[str, str, tuple[str, ...]]  # code, severity name, item names


def feedback_records(
    events: Sequence[dict[str, Any]], routed: Sequence[Routed], now: datetime | None = None
) -> list[dict[str, Any]]:
    """One feedback record (Avro ``examination_feedback``) per HL7 event of a judged batch, in order."""
    stamp = int((now or datetime.now(UTC)).timestamp() * 1000)
    records = []
    for event, result in zip(events, routed, strict=True):
        if event.get("source") != HL7:
            continue
        verdict = result.verdict.kind if result.verdict is not None else "stale"
        failed: Sequence[Failure] = ()
        if verdict in ("accepted", "rejected", "pending"):
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


def _failure(code: str, severity: str, fields: Sequence[str]) -> dict[str, Any]:
    return {
        "code": code,
        "severity": "warning" if severity == "WARNING" else "error",
        "fields": list(fields),
        "description": RULES[code].description,
    }
