"""Memo dicts for pure lookups on one reference table, shared by the rules and the derivations.

Reference tables are read-only snapshots (``streams.refdata.protocols``): the same question about the
same table always has the same answer, so a lookup asked by several rules and derivations of every
record (ODS successions, a code's status on a date) is worked out once per table. Tables are told apart
by identity, never by equality (hashing a frozen table would walk all its rows). Each memo holds a strong
reference to its table, so an id cannot be reused by another table while the memo lives. Both the
number of tables and the entries per table are bounded: when full, a memo is simply emptied.
"""

from __future__ import annotations

from typing import Any

MAX_TABLES = 256
MAX_ENTRIES = 16_384  # per table and purpose: a few MB at most

_MEMOS: dict[tuple[int, str], tuple[object, dict[Any, Any]]] = {}


def table_memo(table: object, purpose: str) -> dict[Any, Any]:
    """The memo dict of one kind of lookup (``purpose``) on ``table``; empty the first time."""
    key = (id(table), purpose)
    entry = _MEMOS.get(key)
    if entry is None or entry[0] is not table:
        if len(_MEMOS) >= MAX_TABLES:
            _MEMOS.clear()
        entry = _MEMOS[key] = (table, {})
    memo = entry[1]
    if len(memo) >= MAX_ENTRIES:
        memo.clear()
    return memo
