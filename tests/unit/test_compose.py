"""docker-compose.yml cannot be run here (no Docker engine): check what can be checked without it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from dids.cli import cli
from dids.settings import Settings

COMPOSE = yaml.safe_load((Path(__file__).parents[2] / "docker-compose.yml").read_text())
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
