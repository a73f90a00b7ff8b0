"""The registry: all 57 national codes, never the 25 that do not exist, severities as published."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest

from streams.columnar.checks import CHECKS
from streams.rules.registry import NONEXISTENT_CODES, RECORD_RULES, RULES, RegistryError, _build, severity_of
from streams.rules.results import Need, Severity

MISSING_NUMBERS = (4, 7, 11, 13, 15, 19, 22, 25, 29, 30, 32, 33, 37, 39, 42, 46, 47, 52, 53, 54, 58, 60, 63, 64, 65)
WARNINGS = {f"DIDS{n:03d}" for n in (23, 28, 38, 49, 62, 77, 78, 79, 80, 81)}
FILE_REJECTS = {"DIDS075", "DIDS076"}


def test_exactly_the_57_national_codes_are_registered() -> None:
    expected = {f"DIDS{n:03d}" for n in range(1, 83)} - {f"DIDS{n:03d}" for n in MISSING_NUMBERS}
    assert len(expected) == 57
    assert set(RULES) == expected
    assert list(RULES) == sorted(RULES)


def test_the_25_missing_codes_are_never_registered() -> None:
    assert len(NONEXISTENT_CODES) == 25
    assert {f"DIDS{n:03d}" for n in MISSING_NUMBERS} == NONEXISTENT_CODES
    assert not NONEXISTENT_CODES & set(RULES)


def test_severities_follow_dids_rules_1_1() -> None:
    for code, rule in RULES.items():
        if code in WARNINGS:
            assert rule.severity is Severity.WARNING, code
        elif code in FILE_REJECTS:
            assert rule.severity is Severity.REJECT_FILE, code
        else:
            assert rule.severity is Severity.REJECT_RECORD, code
    assert Counter(rule.severity for rule in RULES.values()) == {
        Severity.REJECT_RECORD: 45,
        Severity.WARNING: 10,
        Severity.REJECT_FILE: 2,
    }
    assert severity_of("DIDS023") is Severity.WARNING


def test_needs_follow_dids_rules_1_4() -> None:
    def codes(need: Need) -> set[str]:
        return {code for code, rule in RULES.items() if need in rule.needs}

    assert codes(Need.SUBMISSION_TIME) == {"DIDS049", "DIDS051", "DIDS055", "DIDS066"}
    assert codes(Need.ODS) == {"DIDS018", "DIDS080", "DIDS024", "DIDS079", "DIDS068", "DIDS081"}
    assert codes(Need.POSTCODES) == {"DIDS016"}
    assert codes(Need.NICIP) == {"DIDS057", "DIDS077", "DIDS082"}
    assert codes(Need.SNOMED) == {"DIDS059", "DIDS078", "DIDS082"}
    assert codes(Need.WHOLE_SUBMISSION) == {"DIDS071"}
    assert codes(Need.FILE) == FILE_REJECTS
    record_only = {code for code, rule in RULES.items() if not rule.needs}
    assert len(record_only) == 38


def test_record_rules_are_all_but_the_submission_and_file_rules() -> None:
    assert {rule.code for rule in RECORD_RULES} == set(RULES) - {"DIDS071"} - FILE_REJECTS
    assert not any(RULES[code].is_record_rule for code in ("DIDS071", *FILE_REJECTS))


def test_every_record_rule_and_only_those_has_a_check() -> None:
    assert set(CHECKS) == {rule.code for rule in RECORD_RULES}
    assert all(CHECKS[rule.code].fails for rule in RECORD_RULES)


def test_every_rule_has_a_description() -> None:
    assert all(rule.description.strip() for rule in RULES.values())


def _table(rules) -> tuple:
    """Registered rules as the rows ``_build`` takes."""
    return tuple((r.code, r.severity, r.needs, r.description) for r in rules)


def test_a_duplicate_code_fails_at_build() -> None:
    with pytest.raises(RegistryError, match="DIDS001 is registered twice"):
        _build((*_table(RULES.values()), ("DIDS001", Severity.REJECT_RECORD, frozenset(), "again")))


@pytest.mark.parametrize("code", ["DIDS004", "DIDS083", "DIDS1", "dids001"])
def test_a_non_national_code_fails_at_build(code: str) -> None:
    with pytest.raises(RegistryError, match="not a national"):
        _build(((code, Severity.REJECT_RECORD, frozenset(), "a rule"),))


def test_a_missing_national_code_fails_at_build() -> None:
    with pytest.raises(RegistryError, match="DIDS082"):
        _build(_table(r for r in RULES.values() if r.code != "DIDS082"))


def test_a_rule_without_a_description_fails_at_build() -> None:
    rules = [replace(r, description="") if r.code == "DIDS001" else r for r in RULES.values()]
    table = _table(rules)
    with pytest.raises(RegistryError, match="DIDS001 has no description"):
        _build(table)
