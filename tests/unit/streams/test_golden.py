"""The columnar engine gives exactly the golden outputs (tests/golden/engine.py): the verdict, every
rule code with its severity and fields, the not-checked list and every derived column, for simulated
records breaking every rule the simulator can break, with and without reference data, v1 and v2.
Written once by the per-record engine it replaced."""

from __future__ import annotations

from collections import Counter

import pytest

from producers.breakage import SUPPORTED_RULES
from streams.refdata.loaders import load_samples
from tests.golden.engine import CASES, entries

GOLDEN = list(entries())
REFDATA = load_samples()
WITH_REFDATA = {case.name: case.refdata for case in CASES}


def test_the_golden_sample_covers_every_breakable_rule_and_every_case():
    fired = {code for e in GOLDEN for code in e["rejects"] + e["warnings"]}
    assert set(SUPPORTED_RULES) <= fired
    assert {"DIDS071"} <= fired  # the one rule over the whole submission
    assert Counter(e["case"] for e in GOLDEN) == Counter({case.name: 300 for case in CASES})
    assert any(e["not_checked"] for e in GOLDEN if not WITH_REFDATA[e["case"]])


def _difference(judged: dict, expected: dict) -> dict:
    out = {k: (judged[k], expected[k]) for k in judged if k != "derived" and judged[k] != expected[k]}
    got, want = judged["derived"], expected["derived"]
    out.update({f"derived.{k}": (got.get(k), want.get(k)) for k in set(got) | set(want) if got.get(k) != want.get(k)})
    return out


def judge_columnar(case_entries: list[dict], refdata) -> list[dict]:
    """The columnar engine's verdict and derived columns for a case's entries, as one batch."""
    import polars as pl

    from streams.columnar.cleansing import raw_frame
    from streams.columnar.derivations import derive, national
    from streams.columnar.engine import Options, failures, outcome, prepare, with_metadata
    from tests.golden.engine import SUBMITTED, SUBMITTER

    raw = raw_frame([e["items"] for e in case_entries]).with_columns(
        pl.lit(int(SUBMITTED.timestamp() * 1000)).alias("submitted_ms"),
        pl.Series("duplicate", [e["duplicate"] for e in case_entries]),
        pl.lit(SUBMITTER).alias("submitter_org"),
    )
    options = Options(refdata=refdata)
    frame = prepare(with_metadata(raw), options)
    judged = outcome(frame, options).iter_rows(named=True)
    derived = national(derive(frame, options)).iter_rows(named=True)
    return [
        {
            "accepted": row["accepted"],
            "rejects": row["rejects"],
            "warnings": row["warnings"],
            "not_checked": row["not_checked"],
            "failures": [[code, severity, list(fields)] for code, severity, fields in failures(row)],
            "derived": {k: v for k, v in columns.items() if v is not None},
        }
        for row, columns in zip(judged, derived, strict=True)
    ]


@pytest.mark.parametrize("small_batch", [2_000, 0], ids=["keys-read-out", "keys-by-query"])
@pytest.mark.parametrize("case", [case.name for case in CASES])
def test_the_columnar_engine_reproduces_the_golden_outputs(case, small_batch, monkeypatch):
    from streams.columnar import lookups

    monkeypatch.setattr(lookups, "SMALL_BATCH", small_batch)  # both ways of answering the reference questions
    case_entries = [e for e in GOLDEN if e["case"] == case]
    judged = judge_columnar(case_entries, REFDATA if WITH_REFDATA[case] else None)
    differing = []
    for entry, got in zip(case_entries, judged, strict=True):
        expected = {k: entry[k] for k in got}
        if got != expected:
            differing.append((entry["items"].get("radiological_accession_num"), _difference(got, expected)))
    assert differing == []
