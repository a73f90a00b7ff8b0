"""The national rules and derivations give exactly the golden outputs (tests/golden/engine.py): the
verdict, every rule code with its severity and fields, the not-checked list and every derived column,
for simulated records breaking every rule the simulator can break, with and without reference data,
v1 and v2. Written once by the per-record engine; any engine that replaces it must reproduce them."""

from __future__ import annotations

from collections import Counter

import pytest

from producers.breakage import SUPPORTED_RULES
from streams.refdata.loaders import load_samples
from tests.golden.engine import CASES, entries, judge

GOLDEN = list(entries())
REFDATA = load_samples()
WITH_REFDATA = {case.name: case.refdata for case in CASES}


def test_the_golden_sample_covers_every_breakable_rule_and_every_case():
    fired = {code for e in GOLDEN for code in e["rejects"] + e["warnings"]}
    assert set(SUPPORTED_RULES) <= fired
    assert {"DIDS071"} <= fired  # the one rule over the whole submission
    assert Counter(e["case"] for e in GOLDEN) == Counter({case.name: 300 for case in CASES})
    assert any(e["not_checked"] for e in GOLDEN if not WITH_REFDATA[e["case"]])


@pytest.mark.parametrize("case", [case.name for case in CASES])
def test_todays_engine_reproduces_the_golden_outputs(case):
    differing = []
    for entry in (e for e in GOLDEN if e["case"] == case):
        judged = judge(entry["items"], entry["duplicate"], REFDATA if WITH_REFDATA[case] else None)
        expected = {k: entry[k] for k in judged}
        if judged != expected:
            differing.append((entry["items"].get("radiological_accession_num"), _difference(judged, expected)))
    assert differing == []


def _difference(judged: dict, expected: dict) -> dict:
    out = {k: (judged[k], expected[k]) for k in judged if k != "derived" and judged[k] != expected[k]}
    got, want = judged["derived"], expected["derived"]
    out.update({f"derived.{k}": (got.get(k), want.get(k)) for k in set(got) | set(want) if got.get(k) != want.get(k)})
    return out
