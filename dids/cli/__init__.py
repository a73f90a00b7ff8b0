"""The ``dids`` command: one module per sub-command, registered here by name so the list stays visible."""

from __future__ import annotations

import importlib
import logging
import os
import sys

import click

from dids.kernel.errors import DidsError

# sub-command name -> module under dids.cli exposing a click command named ``command``
COMMANDS = {
    "up": "stack",
    "down": "stack",
    "status": "stack",
    "broker": "broker",
    "warehouse": "warehouse",
    "streams": "streams",
    "sink": "sink",
    "simulate": "simulate",
    "hl7": "hl7",
    "hl7-bench": "hl7_bench",
    "submit": "submit",
    "sql": "sql",
    "db": "db",
    "schemas": "schemas",
    "validate": "validate",
    "consent": "consent",
    "optout": "optout",
    "extract": "extract",
    "linkage": "linkage",
    "snapshot": "snapshot",
    "report": "report",
    "dq-report": "dq_report",
    "bench": "bench",
}


class _LazyGroup(click.Group):
    """Imports a sub-command's module only when it runs, so `dids --help` stays fast."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        module_name = COMMANDS.get(name)
        if module_name is None:
            return None
        module = importlib.import_module(f"dids.cli.{module_name}")
        return getattr(module, f"{name}_command", None) or module.command


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log at DEBUG level.")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default=None,
    help="Log lines as text or one JSON object each (default: DIDS_LOG_FORMAT, else text).",
)
def cli(verbose: bool, log_format: str | None) -> None:
    """DIDS Stream: the NHS Diagnostic Imaging Dataset as a stream.

    \b
    Start everything locally (Kafka, ClickHouse engine, stream processors, sink, simulator):
      dids up
    Then:
      dids status
      dids sql "SELECT modality, count() FROM current_examinations GROUP BY modality"
      dids down
    Check an extract before sending it, then send it:
      dids validate october.csv
      dids submit october.csv --period 2026-10 --submitter RR8
    """
    from dids.kernel.logs import setup_logging
    from dids.kernel.settings import Settings

    fmt = log_format or Settings.from_env().log_format
    setup_logging(logging.DEBUG if verbose else logging.INFO, fmt)
    if log_format:  # services started from here (dids up, tests) log the same way
        os.environ["DIDS_LOG_FORMAT"] = log_format


def main() -> None:
    try:
        cli(standalone_mode=False)
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except DidsError as exc:
        click.secho(f"error: {exc}", fg="red", err=True)
        sys.exit(2)
    except Exception as exc:
        message = operational_message(exc)
        if message is None:
            raise  # a bug: its traceback is what a report needs
        click.secho(f"error: {message}", fg="red", err=True)
        sys.exit(2)


def operational_message(exc: BaseException) -> str | None:
    """What went wrong and what to do, for an error of the machine around us rather than of our code:
    a file or port (OSError), the broker (confluent-kafka), ClickHouse (clickhouse-connect). None for
    anything else, which is a bug and keeps its traceback."""
    module = type(exc).__module__
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if module.startswith("clickhouse_connect"):
        return f"ClickHouse: {first[:300]}; is the warehouse running (`dids status`), and DIDS_CLICKHOUSE_URL right?"
    if module.startswith(("confluent_kafka", "cimpl")):  # the C extension's classes say "cimpl"
        return f"Kafka: {first[:300]}; is the broker running (`dids status`), and DIDS_KAFKA_BOOTSTRAP right?"
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror or first}{where}"
    return None
