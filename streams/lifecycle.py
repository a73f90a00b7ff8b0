"""Merging the lifecycle events of one examination into its current state (pure; no Faust).

The state lives in a Faust table keyed ``site_code|accession`` (backed by a changelog topic), as a
JSON-able dict. Rules:
* events are ordered by RIS event time: an event older than the state's is *stale* and changes
  nothing (out-of-order delivery);
* an event id already seen is a *duplicate* (at-least-once redelivery): the current record is
  re-published unchanged, so a crash between the table write and the send loses nothing;
* an extract row (``submitted``) or a ``corrected`` event replaces every item; other events overlay
  their non-blank items (an HL7 result may carry only the report date);
* the version only grows: the first version is the first event time in ms, then +1 or more.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dids.kernel.items import ITEM_NAMES, V2_ITEM_NAMES

FULL_RECORD_EVENTS = frozenset({"submitted", "corrected"})
PENDING_EVENTS = frozenset({"requested", "scheduled"})  # not yet a DIDS record: nothing is published
_SEEN_IDS = 32
_ITEMS = ITEM_NAMES + V2_ITEM_NAMES  # recent event ids kept to recognise redelivery

META_FIELDS = (
    "event_id",
    "event_type",
    "source",
    "submission_id",
    "submitter_org",
    "row_number",
    "duplicate_in_submission",
)


@dataclass(frozen=True)
class Merge:
    state: dict[str, Any]
    outcome: str  # applied | duplicate | stale


def event_millis(value: Any) -> int:
    if isinstance(value, int):
        return value
    return int(value.timestamp() * 1000)


def merge(state: dict[str, Any] | None, event: dict[str, Any]) -> Merge:
    """Fold one decoded event into the examination's state."""
    event_ms = event_millis(event["event_time"])
    if state is not None:
        if event["event_id"] in state["seen"]:
            return Merge(state, "duplicate")
        if event_ms < state["event_time"]:
            return Merge(dict(state, seen=_remember(state["seen"], event["event_id"])), "stale")
    if state is None or event.get("event_type") in FULL_RECORD_EVENTS:
        items = {name: event.get(name) for name in _ITEMS}
    else:
        items = dict(state["items"])
        items.update({k: event[k] for k in _ITEMS if event.get(k) not in (None, "")})
    version = event_ms if state is None else max(state["version"] + 1, event_ms)
    new_state = {
        "version": version,
        "event_time": event_ms,
        "received_time": event_millis(event["received_time"]),
        "items": items,
        "meta": {k: event.get(k) for k in META_FIELDS},
        "seen": _remember(state["seen"] if state else [], event["event_id"]),
        "person_id": state.get("person_id") if state else None,
        "published": state.get("published", False) if state else False,
        "first_test_date": state.get("first_test_date") if state else None,
    }
    return Merge(new_state, "applied")


def _remember(seen: list[str], event_id: str) -> list[str]:
    return [*[s for s in seen if s != event_id], event_id][-_SEEN_IDS:]
