"""Cleansing of a whole batch (DIDS-RULES §1.2, DIDS-SPEC §4).

Every item is trimmed of the characters Python's ``str.strip()`` removes (the set is spelled out:
Rust's notion of whitespace differs by the four ASCII separators 0x1C-0x1F), blank becomes null, the NHS
number loses every whitespace character and hyphen, and the NICIP code is upper-cased.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

import polars as pl

from dids.kernel.items import ITEM_NAMES, V2_ITEM_NAMES

# exactly the characters for which str.isspace() is true (= Python's \s and str.strip())
PY_WHITESPACE = "".join(chr(c) for c in range(0x110000) if chr(c).isspace())
_SEPARATOR_CLASS = "[" + "".join(f"\\x{{{ord(c):x}}}" for c in PY_WHITESPACE) + r"\-]+"

# the columns a batch of raw records is read into: the 18 items and the v2.0 items, all text
RAW_COLUMNS: tuple[str, ...] = ITEM_NAMES + V2_ITEM_NAMES
RAW_SCHEMA = pl.Schema({name: pl.String for name in RAW_COLUMNS})


def raw_frame(rows: Iterable[Mapping[str, Any]]) -> pl.DataFrame:
    """The items of raw records as a text frame; a missing item is null. A value that is not text (or
    None) raises TypeError: callers hand over the text as submitted."""
    columns: dict[str, list[Any]] = {name: [] for name in RAW_COLUMNS}
    for row in rows:
        for name, values in columns.items():
            values.append(row.get(name))
    for name, values in columns.items():
        for value in values:
            if value is not None and not isinstance(value, str):
                raise TypeError(f"item {name!r} must be str or None, not {type(value).__name__}")
    return pl.DataFrame(columns, schema=RAW_SCHEMA)


def _trimmed(name: str) -> pl.Expr:
    value = pl.col(name).str.strip_chars(PY_WHITESPACE)
    return pl.when(value.str.len_bytes() > 0).then(value)


@lru_cache(maxsize=2)  # immutable expressions, built once
def cleansed(*, upper_case_nicip: bool = True) -> list[pl.Expr]:
    """The 18 cleansed items, by name, each non-empty text or null."""
    exprs = []
    for name in ITEM_NAMES:
        value = _trimmed(name)
        if name == "nhs_number":
            stripped = pl.col(name).str.replace_all(_SEPARATOR_CLASS, "")
            value = pl.when(stripped.str.len_bytes() > 0).then(stripped)
        elif name == "imaging_code_nicip" and upper_case_nicip:
            value = value.str.to_uppercase()
        exprs.append(value.alias(name))
    return exprs
