"""The stream processor's work on one message, as plain functions (no Faust, no Kafka).

decode -> merge into the examination's state -> evaluate (rules, derivations, privacy) -> what to
publish: the current record for dids.examinations, a reject for dids.rejects, or a dead letter for
dids.dlq. The Faust agents only call these and route the result, so it is all tested without a broker.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dids.kernel.dead_letters import DeadLetter
from dids.kernel.keys import event_key, is_keyed
from schemas.catalog import EXAMINATION_EVENT, EXAMINATION_RECORD, EXAMINATION_REJECT, Catalog
from schemas.codec import CodecError
from streams.erasure import is_scrubbed, scrubbed
from streams.evaluate import StreamContext, Verdict, evaluate
from streams.lifecycle import merge
from streams.privacy import SURROGATE, surrogate_nhs_number


@dataclass(frozen=True)
class Output:
    key: str
    value: bytes


@dataclass(frozen=True)
class Routed:
    outcome: str  # applied | duplicate | stale | unkeyed
    state: dict[str, Any] | None = None  # the examination's new state, to store (None: unchanged)
    examination: Output | None = None
    reject: Output | None = None
    verdict: Verdict | None = None


def decode_event(catalog: Catalog, value: bytes | None) -> dict[str, Any] | DeadLetter:
    if value is None:
        return DeadLetter("EmptyMessageError", "message has no value (tombstone on the events topic)")
    try:
        return catalog.decode(value, EXAMINATION_EVENT)
    except CodecError as exc:
        return DeadLetter(type(exc).__name__, str(exc))


def process_event(
    catalog: Catalog,
    ctx: StreamContext,
    event: dict[str, Any],
    state: dict[str, Any] | None,
    now: datetime | None = None,
) -> Routed:
    """Merge ``event`` into ``state`` and decide what to publish.

    A record is published to dids.examinations when it is accepted, and again (as cancelled, rejected
    or withdrawn) when an earlier accepted version has to leave the current views.
    """
    key = event_key(event)
    keyed = is_keyed(key)
    if not keyed:
        state = None  # blank key parts (DIDS067/070): evaluate alone, never merge unrelated examinations
    merged = merge(state, event)
    if merged.outcome == "stale":
        return Routed("stale", state=merged.state)
    new_state = dict(merged.state)
    if is_scrubbed(state) and not (new_state["items"].get("nhs_number") or "").strip():
        # a withdrawn person's examination: an event that does not name the person cannot bring it back
        return Routed(merged.outcome, state=scrubbed(new_state), verdict=Verdict("withdrawn"))
    if state and state.get(SURROGATE) and new_state["items"].get("nhs_number") == state["items"].get("nhs_number"):
        new_state[SURROGATE] = True  # the stored number is still the surrogate: it names nobody
    verdict = evaluate(key, new_state, ctx, now)
    if verdict.restricted:
        # a restricted code's person is kept nowhere, not even here: no person id, and in place of the
        # NHS number a surrogate the rules judge the same way when the next event is merged
        new_state["person_id"] = None
        new_state["items"] = dict(
            new_state["items"], nhs_number=surrogate_nhs_number(new_state["items"].get("nhs_number"))
        )
        new_state[SURROGATE] = True
    elif verdict.person_id is not None:
        new_state["person_id"] = verdict.person_id
    examination = None
    if verdict.kind == "accepted" and not new_state.get("first_test_date"):
        # the first accepted test date fixes the ClickHouse partition for every later version
        new_state["first_test_date"] = verdict.record["diagnostic_test_date"]
        verdict.record["first_test_date"] = new_state["first_test_date"]
    if verdict.record is not None and (verdict.kind == "accepted" or new_state["published"]):
        examination = Output(key, catalog.encode(EXAMINATION_RECORD, verdict.record))
        new_state["published"] = verdict.kind == "accepted"
    reject = Output(key, catalog.encode(EXAMINATION_REJECT, verdict.reject)) if verdict.reject else None
    if verdict.kind == "withdrawn":
        new_state = scrubbed(new_state)  # the table and its changelog keep nothing of a withdrawn person
    return Routed(
        merged.outcome if keyed else "unkeyed",
        state=new_state if keyed else None,
        examination=examination,
        reject=reject,
        verdict=verdict,
    )
