"""DIDS_DISCLOSURE_*: whole numbers in range, or a clear error naming the variable (never SQL text)."""

from __future__ import annotations

import pytest

from dids.kernel.errors import ConfigError
from dids.kernel.settings import Settings
from sinks.disclosure import MAX_RULE, DisclosureRules


def rules(env):
    return DisclosureRules.from_settings(Settings.from_env(env))


def test_the_defaults_are_the_usual_nhs_rules():
    assert rules({}) == DisclosureRules(7, 5)
    assert rules({"DIDS_DISCLOSURE_THRESHOLD": "10", "DIDS_DISCLOSURE_ROUNDING_BASE": "10"}) == DisclosureRules(10, 10)
    assert "counts 1 to 7 suppressed" in DisclosureRules().describe()


@pytest.mark.parametrize(
    "variable, raw",
    [
        ("DIDS_DISCLOSURE_THRESHOLD", "-1"),
        ("DIDS_DISCLOSURE_THRESHOLD", "7.5"),
        ("DIDS_DISCLOSURE_THRESHOLD", "seven"),
        ("DIDS_DISCLOSURE_THRESHOLD", "7 OR 1=1"),
        ("DIDS_DISCLOSURE_THRESHOLD", "7); DROP TABLE disclosure_rules; --"),
        ("DIDS_DISCLOSURE_THRESHOLD", str(MAX_RULE + 1)),
        ("DIDS_DISCLOSURE_ROUNDING_BASE", "0"),
        ("DIDS_DISCLOSURE_ROUNDING_BASE", "-5"),
        ("DIDS_DISCLOSURE_ROUNDING_BASE", "5e0"),
        ("DIDS_DISCLOSURE_ROUNDING_BASE", "0x5"),
        ("DIDS_DISCLOSURE_ROUNDING_BASE", "99999999999999999999"),
    ],
)
def test_a_bad_value_names_its_variable(variable, raw):
    with pytest.raises(ConfigError, match=variable):
        rules({variable: raw})


@pytest.mark.parametrize("value", [True, 7.0, "7", None])
def test_only_a_real_int_is_a_rule(value):
    """Settings built in code (not from the environment) are checked the same way."""
    with pytest.raises(ConfigError, match="is not a whole number"):
        DisclosureRules(threshold=value)
    with pytest.raises(ConfigError, match="DIDS_DISCLOSURE_ROUNDING_BASE"):
        DisclosureRules.from_settings(Settings(disclosure_rounding_base=value))


def test_the_edges_are_allowed():
    assert DisclosureRules(0, 1) == DisclosureRules(threshold=0, rounding_base=1)  # no suppression, no rounding
    assert DisclosureRules(MAX_RULE, MAX_RULE).threshold == MAX_RULE
