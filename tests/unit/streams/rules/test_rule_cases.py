"""Every record rule, case by case (cases.py), plus the coverage check the style guide asks for.

The cases go through the columnar engine (``one_record.judge_many``): every case of a context in one
batch, worked out once for the module, and each test looks its case up.
"""

from __future__ import annotations

from collections import defaultdict

import pytest

from streams.rules.registry import RECORD_RULES, RULES
from streams.rules.results import Severity
from tests.unit.streams.one_record import Judged, derive, judge, judge_many
from tests.unit.streams.rules.cases import CASES, Case
from tests.unit.streams.rules.fixtures import BASE, CONTEXTS, REFDATA, record


@pytest.fixture(scope="module")
def verdicts() -> dict[str, Judged]:
    """Each case's verdict by case id: one batch per context."""
    by_context: dict[str, list[Case]] = defaultdict(list)
    for rule_case in CASES:
        by_context[rule_case.context].append(rule_case)
    found = {}
    for name, cases in by_context.items():
        judged = judge_many([c.record for c in cases], CONTEXTS[name])
        found.update({c.id: verdict for c, verdict in zip(cases, judged, strict=True)})
    return found


@pytest.fixture(scope="module")
def bare_baseline() -> Judged:
    """The baseline with no submission time and no reference data."""
    return judge(BASE, CONTEXTS["bare"])


@pytest.mark.parametrize("rule_case", CASES, ids=lambda c: c.id)
def test_rule_case(rule_case: Case, verdicts: dict[str, Judged]) -> None:
    rule = RULES[rule_case.code]
    verdict = verdicts[rule_case.id]
    kind = verdict.kind(rule.code)
    assert kind == rule_case.expect, verdict
    if kind == "fail":
        listed = verdict.warnings if rule.severity is Severity.WARNING else verdict.rejects
        assert rule.code in listed
        severity, fields = next((s, f) for code, s, f in verdict.failures if code == rule.code)
        assert severity == rule.severity.name
        assert fields, "a failure names the items involved"
    if kind == "not_checked":
        assert rule.code in verdict.not_checked


def test_every_record_rule_has_an_accepting_and_a_failing_case() -> None:
    kinds: dict[str, set[str]] = defaultdict(set)
    for rule_case in CASES:
        kinds[rule_case.code].add(rule_case.expect)
    for rule in RECORD_RULES:
        assert {"pass", "fail"} <= kinds[rule.code], rule.code


def test_every_case_is_for_a_registered_record_rule() -> None:
    assert {c.code for c in CASES} <= {rule.code for rule in RECORD_RULES}


def test_case_ids_are_unique() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))


def test_baseline_passes_every_rule_with_full_context() -> None:
    verdict = judge(BASE, CONTEXTS["full"])
    assert [rule.code for rule in RECORD_RULES if verdict.kind(rule.code) != "pass"] == []


@pytest.mark.parametrize("rule", [r for r in RECORD_RULES if r.needs], ids=lambda r: r.code)
def test_rules_needing_more_than_the_record_are_not_checked_without_it(rule, bare_baseline: Judged) -> None:
    # the baseline is clean, so even DIDS059's syntax part has nothing to fail
    assert bare_baseline.kind(rule.code) == "not_checked"
    assert rule.code in bare_baseline.not_checked


def test_rules_needing_only_the_record_run_without_context(bare_baseline: Judged) -> None:
    for rule in RECORD_RULES:
        if not rule.needs:
            assert bare_baseline.kind(rule.code) == "pass", rule.code


def test_dids023_fails_and_the_derived_referrer_code_is_99() -> None:
    bad = record(referrer="ZE1234")
    verdict = judge(bad, CONTEXTS["full"])
    assert [f for f in verdict.failures if f[0] == "DIDS023"] == [("DIDS023", "WARNING", ("referrer",))]
    assert derive(bad, REFDATA)["REFERRER_CODE"] == "99"
