"""`dids hl7-bench` and the listener's verdict waits: bad parameters are refused before anything runs."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from dids.cli import cli
from dids.kernel.ports import free_port


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--to", "nonsense"], "expected HOST:PORT"),
        (["--to", "127.0.0.1:99999"], "expected HOST:PORT"),
        (["--rate", "0"], "--rate"),
        (["--seconds", "-1"], "--seconds"),
        (["--connections", "0"], "--connections"),
        (["--rate", "many"], "--rate"),
    ],
)
def test_bad_parameters_are_refused(args, said):
    result = CliRunner().invoke(cli, ["hl7-bench", *args])
    assert result.exit_code == 2 and said in result.output


def test_no_listener_is_one_line_saying_what_to_start(capsys, monkeypatch):
    from dids.cli import main

    monkeypatch.setattr("sys.argv", ["dids", "hl7-bench", "--to", f"127.0.0.1:{free_port()}", "--seconds", "1"])
    with pytest.raises(SystemExit) as exited:
        main()
    err = capsys.readouterr().err
    assert exited.value.code != 0 and "dids hl7 --listen" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--ack-wait", "31"], "--ack-wait"),
        (["--ack-wait", "-1"], "--ack-wait"),
        (["--ack-wait", "soon"], "--ack-wait"),
        (["--verdict-timeout", "0"], "--verdict-timeout"),
        (["--verdict-timeout", "3601"], "--verdict-timeout"),
    ],
)
def test_the_listener_refuses_waits_out_of_range_before_starting(args, said):
    result = CliRunner().invoke(cli, ["hl7", *args])
    assert result.exit_code == 2 and said in result.output
