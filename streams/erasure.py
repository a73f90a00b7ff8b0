"""Erasing a withdrawn person from the lifecycle table (pure; the Faust wiring is in streams.runtime.agents).

The lifecycle state of an examination holds every item as sent, the NHS number, postcode and birth date
included, and its changelog topic keeps each version. When a person withdraws consent their states are
*scrubbed*: replaced by a state that keeps only what orders later events (version, event times, recent
event ids, whether a record was published) and no item value, no person id. The changelog then holds
the scrubbed value as the key's latest; compaction drops the older values within the changelog's
``max.compaction.lag.ms`` (dids.kernel.topics).

To find a person's states without reading the whole table, the table also holds a small index per
source partition: key ``person:<person id>:<partition>`` -> the record keys of that person in that
partition. It lives in the same table (and changelog partition) as the states it lists, so it moves with
them when partitions are reassigned. A purge is a command message on the events topic, sent to the
index's partition, because a Faust table may only be written while processing a message of that
partition: header ``dids-purge-person`` = the person id, empty value. The worker obeys it only when the
consent list says that person is withdrawn, so a forged command erases nothing.
"""

from __future__ import annotations

from typing import Any

PURGE_HEADER = "dids-purge-person"
_INDEX_PREFIX = "person:"
# what a scrubbed state keeps: ordering, redelivery, the published flag and the record's partition date
_KEPT = ("version", "event_time", "received_time", "seen", "meta", "published", "first_test_date")


def index_key(person_id: str, partition: int) -> str:
    return f"{_INDEX_PREFIX}{person_id}:{partition}"


def is_index_key(key: str) -> bool:
    """Record keys are ``site|accession``; an index key has no ``|``."""
    return key.startswith(_INDEX_PREFIX) and "|" not in key


def scrubbed(state: dict[str, Any]) -> dict[str, Any]:
    """The state of a withdrawn person's examination: no item, no person id."""
    kept = {name: state.get(name) for name in _KEPT}
    return {**kept, "items": {}, "person_id": None, "withdrawn": True}


def is_scrubbed(state: dict[str, Any] | None) -> bool:
    return bool(state and state.get("withdrawn"))


def indexed(entry: list[str] | None, record_key: str) -> list[str] | None:
    """The index entry with ``record_key`` added; None when it is already there (nothing to write)."""
    keys = list(entry or [])
    if record_key in keys:
        return None
    return [*keys, record_key]


def purge_command(value: bytes | None, headers: Any) -> str | None:
    """The person id of a purge command message, or None for an ordinary event.

    A purge command has an empty value; an event with the header and a value is an event (the header
    cannot smuggle a purge into a real message).
    """
    if value:
        return None
    for name, raw in _header_items(headers):
        if name == PURGE_HEADER and raw:
            return raw.decode("ascii", "replace") if isinstance(raw, bytes) else str(raw)
    return None


def _header_items(headers: Any) -> list[tuple[str, Any]]:
    if not headers:
        return []
    items = headers.items() if isinstance(headers, dict) else headers
    return [(name.decode() if isinstance(name, bytes) else name, raw) for name, raw in items]
