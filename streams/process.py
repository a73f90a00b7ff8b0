"""The stream processor's work on one message, as plain functions (no Faust, no Kafka).

decode -> merge into the examination's state -> evaluate a batch (rules, derivations, privacy) -> what to
publish: the current record for dids.examinations, a reject for dids.rejects, or a dead letter for
dids.dlq. The Faust agents only call these and route the result, so it is all tested without a broker.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dids.kernel.dead_letters import DeadLetter
from dids.kernel.keys import event_key, is_keyed
from schemas.catalog import EXAMINATION_CHUNK, EXAMINATION_EVENT, EXAMINATION_RECORD, EXAMINATION_REJECT, Catalog
from schemas.codec import CodecError
from streams.erasure import is_scrubbed, scrubbed
from streams.evaluate import StreamContext, Verdict, evaluate_batch
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


def decode_events(catalog: Catalog, value: bytes | None) -> tuple[list[dict[str, Any]], bool] | DeadLetter:
    """The events of a message on dids.ris.events, and whether it was a chunk: one event (HL7, simulator)
    or a chunk of a submission's events (``dids submit``), told apart by the writer schema's name."""
    if value is None:
        return DeadLetter("EmptyMessageError", "message has no value (tombstone on the events topic)")
    try:
        if catalog.writer_name(value) != EXAMINATION_CHUNK:
            return [catalog.decode(value, EXAMINATION_EVENT)], False
        events = catalog.decode(value, EXAMINATION_CHUNK)["events"]
    except CodecError as exc:
        return DeadLetter(type(exc).__name__, str(exc))
    if not events:
        return DeadLetter("EmptyChunkError", "chunk message holds no events")
    return events, True


def process_event(
    catalog: Catalog,
    ctx: StreamContext,
    event: dict[str, Any],
    state: dict[str, Any] | None,
    now: datetime | None = None,
) -> Routed:
    """Merge ``event`` into ``state`` and decide what to publish: ``process_events`` of one."""
    return process_events(catalog, ctx, [event], lambda key: state, now)[0]


def process_events(
    catalog: Catalog,
    ctx: StreamContext,
    events: Sequence[dict[str, Any]],
    state_of: Callable[[str], dict[str, Any] | None],
    now: datetime | None = None,
) -> list[Routed]:
    """Merge each event into its examination's state and decide what to publish, in order, judging the
    batch together (``evaluate_batch``). ``state_of(key)`` reads a state from the table; a key met again
    in the batch sees the state its previous event left, exactly as one event at a time would.

    A record is published to dids.examinations when it is accepted, and again (as cancelled, rejected
    or withdrawn) when an earlier accepted version has to leave the current views.
    """
    routed: list[Routed] = []
    current: dict[str, dict[str, Any] | None] = {}
    start = 0
    while start < len(events):
        # a run of events with distinct keys is judged at once; a repeated key starts the next run
        seen: set[str] = set()
        end = start
        while end < len(events):
            key = event_key(events[end])
            if is_keyed(key) and key in seen:
                break
            seen.add(key)
            end += 1
        run = _run(catalog, ctx, events[start:end], current, state_of, now)
        for result, event in zip(run, events[start:end], strict=True):
            key = event_key(event)
            if is_keyed(key) and result.state is not None:
                current[key] = result.state
            routed.append(result)
        start = end
    return routed


def _run(catalog, ctx, events, current, state_of, now) -> list[Routed]:
    merged_runs: list[tuple[int, str, bool, dict | None, dict, str]] = []
    out: list[Routed | None] = [None] * len(events)
    for index, event in enumerate(events):
        key = event_key(event)
        keyed = is_keyed(key)
        # blank key parts (DIDS067/070): evaluate alone, never merge unrelated examinations
        state = (current[key] if key in current else state_of(key)) if keyed else None
        merged = merge(state, event)
        if merged.outcome == "stale":
            out[index] = Routed("stale", state=merged.state)
            continue
        new_state = dict(merged.state)
        if is_scrubbed(state) and not (new_state["items"].get("nhs_number") or "").strip():
            # a withdrawn person's examination: an event that does not name the person cannot bring it back
            out[index] = Routed(merged.outcome, state=scrubbed(new_state), verdict=Verdict("withdrawn"))
            continue
        if state and state.get(SURROGATE) and new_state["items"].get("nhs_number") == state["items"].get("nhs_number"):
            new_state[SURROGATE] = True  # the stored number is still the surrogate: it names nobody
        merged_runs.append((index, key, keyed, state, new_state, merged.outcome))
    verdicts = evaluate_batch([(key, new_state) for _, key, _, _, new_state, _ in merged_runs], ctx, now)
    for (index, key, keyed, _state, new_state, outcome), verdict in zip(merged_runs, verdicts, strict=True):
        out[index] = _route(catalog, key, keyed, new_state, outcome, verdict)
    return out  # type: ignore[return-value]


def _route(catalog, key: str, keyed: bool, new_state: dict[str, Any], outcome: str, verdict: Verdict) -> Routed:
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
        outcome if keyed else "unkeyed",
        state=new_state if keyed else None,
        examination=examination,
        reject=reject,
        verdict=verdict,
    )
