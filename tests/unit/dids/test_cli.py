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


def test_operational_errors_are_one_line_and_say_what_to_do():
    import errno

    from clickhouse_connect.driver.exceptions import OperationalError
    from confluent_kafka import KafkaException

    from dids.cli import operational_message

    port = operational_message(OSError(errno.EADDRINUSE, "Address already in use"))
    assert port == "Address already in use"
    missing = operational_message(FileNotFoundError(errno.ENOENT, "No such file or directory", "october.csv"))
    assert missing == "No such file or directory: october.csv"
    assert "dids status" in operational_message(OperationalError("Error HTTPConnectionPool ... refused\nmore"))
    assert "DIDS_KAFKA_BOOTSTRAP" in operational_message(KafkaException("_TRANSPORT"))
    assert operational_message(KeyError("a bug")) is None  # keeps its traceback


def test_a_command_beside_a_busy_metrics_port_does_not_crash():
    """Before, `dids simulate` next to `dids up` died with a traceback: its metrics port was taken."""
    import socket

    from dids.kernel.metrics import MetricsPortError, serve_metrics

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert serve_metrics(port, or_any_free=True) not in (None, port)
        try:
            serve_metrics(port)
        except MetricsPortError as exc:
            assert "--metrics-port" in str(exc)
        else:
            raise AssertionError("a service must not move its metrics port silently")


def test_a_missing_file_is_an_error_line_not_a_traceback(tmp_path):
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "dids", "submit", str(tmp_path / "missing.csv"), "--period", "2026-10"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "missing.csv" in done.stderr
