"""docker-compose.yml cannot be run here (no Docker engine): check what can be checked without it."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from dids.cli import cli
from dids.kernel.settings import Settings

COMPOSE = yaml.safe_load((Path(__file__).parents[2] / "docker-compose.yml").read_text())
# The Compose Specification's JSON schema (Apache-2.0), as shipped with docker-compose 1.29.2
COMPOSE_SCHEMA = json.loads((Path(__file__).parent / "compose_spec.json").read_text())
OUR_SERVICES = {name: svc for name, svc in COMPOSE["services"].items() if svc.get("image") == "dids-stream:latest"}


def test_our_services_exist():
    assert {"migrate", "streams", "sink", "hl7", "simulator"} <= set(OUR_SERVICES)


@pytest.mark.parametrize("name", sorted(OUR_SERVICES))
def test_service_command_is_a_valid_dids_command(name):
    command = OUR_SERVICES[name]["command"]
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0, f"{name}: dids {' '.join(command)}: {result.output}"


@pytest.mark.parametrize("name", sorted(OUR_SERVICES))
def test_service_environment_uses_only_real_settings(name):
    known = set(Settings.env_names()) | {
        "DIDS_HL7_LISTEN",
        "DIDS_HL7_MAX_MESSAGE_BYTES",
        "DIDS_HL7_IDLE_TIMEOUT",
        "DIDS_HL7_MAX_CONNECTIONS",
    }
    env = OUR_SERVICES[name].get("environment", {})
    unknown = {k for k in env if k.startswith("DIDS_")} - known
    assert not unknown, f"{name} sets unknown settings {unknown}"


def test_dependencies_name_existing_services():
    for name, svc in COMPOSE["services"].items():
        for dep in svc.get("depends_on", {}):
            assert dep in COMPOSE["services"], f"{name} depends on unknown {dep}"


def _schema_errors(doc) -> list[str]:
    validator = jsonschema.Draft201909Validator(COMPOSE_SCHEMA)
    return [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(doc)]


def test_file_follows_the_compose_specification():
    assert _schema_errors(COMPOSE) == []


def test_schema_check_catches_a_mistake():
    broken = copy.deepcopy(COMPOSE)
    broken["services"]["sink"]["healthcheck"]["retires"] = 3  # a typo Docker would refuse
    assert _schema_errors(broken)


def test_monitoring_is_wired():
    prometheus, grafana = COMPOSE["services"]["prometheus"], COMPOSE["services"]["grafana"]
    assert "./deploy/prometheus:/etc/prometheus:ro" in prometheus["volumes"]
    assert "./deploy/grafana/provisioning:/etc/grafana/provisioning:ro" in grafana["volumes"]
    # every DIDS service with a metrics port is scraped
    scraped = (Path(__file__).parents[2] / "deploy/prometheus/prometheus.yml").read_text()
    for name in ("streams:9101", "sink:9102", "hl7:9104"):
        assert name in scraped


def test_every_third_party_image_and_the_grafana_plugin_name_a_version():
    """Pinned as written (no Docker engine here to pull them): a moving tag or an unpinned plugin
    would run whatever was published last."""
    for name, svc in COMPOSE["services"].items():
        if name in OUR_SERVICES or "image" not in svc:
            continue
        tag = svc["image"].rpartition(":")[2]
        assert re.fullmatch(r"v?\d+\.\d+(\.\d+)*", tag), f"{name}: {svc['image']} is not pinned to a version"
    env = COMPOSE["services"]["grafana"]["environment"]
    assert "GF_INSTALL_PLUGINS" not in env  # it installs the latest (and is deprecated in Grafana 12)
    assert re.fullmatch(r"grafana-clickhouse-datasource@\d+\.\d+\.\d+", env["GF_PLUGINS_PREINSTALL"])
