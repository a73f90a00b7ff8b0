"""streams.columnar.lookups: each distinct key tuple gets its own answer, whatever its values hold."""

from __future__ import annotations

import polars as pl
import pytest

from streams.columnar import lookups


@pytest.mark.parametrize("small_batch", [2_000, 0], ids=["keys-read-out", "keys-by-query"])
def test_key_parts_holding_the_separator_never_share_an_answer(monkeypatch, small_batch):
    monkeypatch.setattr(lookups, "SMALL_BATCH", small_batch)
    frame = pl.DataFrame(
        {
            "a": ["x\x1fy", "x", "p", None, "x\x1fy"],
            "b": ["z", "y\x1fz", "q", "q", "z"],
            "c": [True, True, False, True, True],
        }
    )
    asked = []

    def answer(a, b, c):
        asked.append((a, b, c))
        return f"{a}|{b}|{c}"

    out = lookups.join_answers(frame, ["a", "b", "c"], answer, {"r": pl.String})
    assert out["r"].to_list() == ["x\x1fy|z|True", "x|y\x1fz|True", "p|q|False", None, "x\x1fy|z|True"]
    assert sorted(asked) == sorted({("x\x1fy", "z", True), ("x", "y\x1fz", True), ("p", "q", False)})


def test_several_answer_columns_and_no_rows():
    frame = pl.DataFrame({"k": ["a", "b", "a"]})
    out = lookups.join_answers(frame, ["k"], lambda k: (k.upper(), len(k)), {"u": pl.String, "n": pl.Int64})
    assert out.select("u", "n").rows() == [("A", 1), ("B", 1), ("A", 1)]
    empty = lookups.join_answers(frame.clear(), ["k"], lambda k: (k, 1), {"u": pl.String, "n": pl.Int64})
    assert empty.height == 0 and empty.columns == ["k", "u", "n"]
