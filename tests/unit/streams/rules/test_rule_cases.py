"""Every record rule, case by case (cases.py), plus the coverage check the style guide asks for."""

from __future__ import annotations

from collections import defaultdict

import pytest

from streams.rules.registry import RECORD_RULES, RULES
from streams.rules.results import Fail, NotChecked, Pass, Severity
from tests.unit.streams.rules.cases import CASES, Case
from tests.unit.streams.rules.fixtures import BASE, CONTEXTS


def _kind(result) -> str:
    if isinstance(result, Pass):
        return "pass"
    if isinstance(result, Fail):
        return "fail"
    assert isinstance(result, NotChecked)
    return "not_checked"


@pytest.mark.parametrize("rule_case", CASES, ids=lambda c: c.id)
def test_rule_case(rule_case: Case) -> None:
    rule = RULES[rule_case.code]
    result = rule.evaluate(rule_case.record, CONTEXTS[rule_case.context])
    assert result.code == rule_case.code
    assert _kind(result) == rule_case.expect, result
    if isinstance(result, Fail):
        assert result.severity is rule.severity
        assert result.fields, "a failure names the items involved"
    if isinstance(result, NotChecked):
        assert result.reason.startswith("missing ")


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
    results = [rule.evaluate(BASE, CONTEXTS["full"]) for rule in RECORD_RULES]
    assert [r for r in results if not isinstance(r, Pass)] == []


@pytest.mark.parametrize("rule", [r for r in RECORD_RULES if r.needs], ids=lambda r: r.code)
def test_rules_needing_more_than_the_record_are_not_checked_without_it(rule) -> None:
    # the baseline is clean, so even DIDS059's syntax part has nothing to fail
    result = rule.evaluate(BASE, CONTEXTS["bare"])
    assert isinstance(result, NotChecked)
    needed = ", ".join(need.value for need in sorted(rule.needs, key=lambda n: n.name))
    assert result.reason.startswith("missing ")
    assert set(result.reason.removeprefix("missing ").split(", ")) == set(needed.split(", "))


def test_rules_needing_only_the_record_run_without_context() -> None:
    for rule in RECORD_RULES:
        if not rule.needs:
            assert isinstance(rule.evaluate(BASE, CONTEXTS["bare"]), Pass), rule.code


def test_dids023_carries_the_derived_referrer_code() -> None:
    from tests.unit.streams.rules.fixtures import record

    result = RULES["DIDS023"].evaluate(record(referrer="ZE1234"), CONTEXTS["full"])
    assert result == Fail("DIDS023", Severity.WARNING, ("referrer",), (("referrer_code", "99"),))
