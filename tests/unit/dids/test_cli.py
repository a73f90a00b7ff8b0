"""Every command answers --help with a description and an example, without any service running."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from dids.cli import COMMANDS, cli


def test_top_level_help_lists_every_command():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0, result.output
    for name in COMMANDS:
        assert name in result.output


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_command_help(name):
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    assert "xample" in result.output or name in ("down", "status", "db"), f"{name} --help has no example"


def test_dids_error_is_reported_without_traceback(monkeypatch, capsys):
    from dids.cli import main

    monkeypatch.setenv("DIDS_TOPIC_PARTITIONS", "lots")
    monkeypatch.setattr("sys.argv", ["dids", "sql", "SELECT 1"])
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "DIDS_TOPIC_PARTITIONS" in err and "Traceback" not in err
