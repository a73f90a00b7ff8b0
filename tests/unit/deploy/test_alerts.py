"""Prometheus alert rules (deploy/prometheus): complete, built only from metrics the services really export,
and checked by promtool itself (config, rules, and the rule unit tests in alerts_test.yml).

promtool comes from Debian's package through deploy/promtool.py (cached): these tests never skip, so CI
proves the rules on every run."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from deploy.promtool import ensure_promtool
from tests.unit.deploy.exported import exported_metrics

PROMETHEUS = Path(__file__).parents[3] / "deploy" / "prometheus"
RULES = [rule for group in yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"] for rule in group["rules"]]
UNIT_TESTS = yaml.safe_load((PROMETHEUS / "alerts_test.yml").read_text())["tests"]

# PromQL words that are not metrics (inf/nan are number literals)
KEYWORDS = {"and", "or", "unless", "on", "ignoring", "group_left", "group_right", "offset", "bool", "by", "without"}
KEYWORDS |= {"inf", "nan"}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads. Removes, in this order (each step makes the next one
    simple): strings, label matchers, grouping/matching label lists, ranges, numbers and durations;
    then every identifier not called like a function and not a keyword is a metric."""
    expr = re.sub(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`', " ", expr)
    expr = re.sub(r"\{[^}]*\}", " ", expr)
    expr = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    expr = re.sub(r"\[[^\]]*\]", " ", expr)
    expr = re.sub(r"(?<![\w:])\.?\d[\w.]*", " ", expr)
    names = re.findall(r"([A-Za-z_:][\w:]*)(\s*\()?", expr)
    return {name for name, call in names if not call and name.lower() not in KEYWORDS}


def unexported(expr: str) -> set[str]:
    return metric_names(expr) - set(exported_metrics()) - {"up"}


def test_metric_names_finds_metrics_and_nothing_else():
    expr = (
        'sum by (group, le) (rate(dids_a_total{rule="DIDS001", x=~"a|b"}[5m] offset 1h)) / on (instance) '
        "group_left (job) up > bool 1e3 and deriv(dids_b[10m:1m]) > 6 * 3600 unless vector(NaN) or time() - c:d"
    )
    assert metric_names(expr) == {"dids_a_total", "up", "dids_b", "c:d"}


def test_a_misspelt_metric_is_reported():
    # the check below must be able to fail: a name one letter off is not exported
    assert unexported('rate(dids_sink_row_total{table="x"}[5m]) / up') == {"dids_sink_row_total"}


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule["alert"])
def test_rule_is_complete(rule):
    assert rule["expr"].strip() and rule.get("for")
    assert rule["labels"]["severity"] in {"page", "ticket"}
    assert rule["annotations"]["summary"].strip() and rule["annotations"]["description"].strip()


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule["alert"])
def test_rule_uses_only_exported_metrics(rule):
    assert not unexported(rule["expr"]), "not exported by any service (see tests/unit/deploy/exported.py)"


def test_every_alert_has_a_firing_and_a_quiet_case():
    cases = [case for test in UNIT_TESTS for case in test["alert_rule_test"]]
    for rule in RULES:
        mine = [case for case in cases if case["alertname"] == rule["alert"]]
        assert any(case.get("exp_alerts") for case in mine), f"{rule['alert']}: no case where it fires"
        assert any(not case.get("exp_alerts") for case in mine), f"{rule['alert']}: no case where it stays quiet"


@pytest.fixture(scope="module")
def promtool() -> Path:
    return ensure_promtool()


@pytest.mark.parametrize(
    "args",
    [("check", "config", "prometheus.yml"), ("check", "rules", "alerts.yml"), ("test", "rules", "alerts_test.yml")],
    ids=" ".join,
)
def test_promtool(promtool, args):
    result = subprocess.run([str(promtool), *args], cwd=PROMETHEUS, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
