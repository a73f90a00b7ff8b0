"""`dids optout`: the national data opt-out list (hashed NHS numbers on dids.optout); prints counts only."""

from __future__ import annotations

from pathlib import Path

import click

from dids.kernel.settings import Settings

_EPILOG = """\b
The opt-out applies at dissemination, not at collection: the warehouse keeps every record and the
statistics count them; `dids extract` and `dids linkage` leave an opted-out person's records out unless
the agreement says `national_data_opt_out: exempt`. NHS numbers are hashed with the pseudonymisation key
(DIDS_PSEUDONYMISATION_KEY_FILE) before anything is sent: only the keyed hash reaches Kafka and the
warehouse, and the output shows counts, never numbers. Every number is checked first (10 digits,
modulus 11); one invalid number stops the command, names its place, and nothing is published.
"""

_numbers = click.argument("nhs_numbers", nargs=-1, required=True, metavar="NHS_NUMBER...")


@click.group("optout", epilog=_EPILOG)
def command() -> None:
    """The national data opt-out: persons whose records leave in no extract or linkage feed.

    \b
    Examples:
      dids optout add 9434765919 "401 023 2137"
      dids optout load opt-outs-2026-11.txt
      dids optout remove 9434765919
      dids optout count
    """


@command.command("add", epilog=_EPILOG)
@_numbers
def add(nhs_numbers: tuple[str, ...]) -> None:
    """Put the persons with these NHS numbers on the opt-out list.

    \b
    Examples:
      dids optout add 9434765919
      DIDS_PSEUDONYMISATION_KEY_FILE=/run/secrets/dids.key dids optout add 9434765919 4010232137
    """
    _publish([(f"argument {i}", n) for i, n in enumerate(nhs_numbers, start=1)], remove=False)


@command.command("remove", epilog=_EPILOG)
@_numbers
def remove(nhs_numbers: tuple[str, ...]) -> None:
    """Take the persons with these NHS numbers off the opt-out list (they opted back in).

    \b
    Examples:
      dids optout remove 9434765919
    """
    _publish([(f"argument {i}", n) for i, n in enumerate(nhs_numbers, start=1)], remove=True)


@command.command("load", epilog=_EPILOG)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--remove", "remove_", is_flag=True, help="Take the file's persons off the list instead.")
@click.option(
    "--replace",
    is_flag=True,
    help="FILE is the whole list: also take off everyone listed now who is not in it (a full refresh).",
)
def load(file: Path, remove_: bool, replace: bool) -> None:
    """Put every NHS number in FILE on the opt-out list (one a line; blank lines and lines starting with #
    are skipped). Every line is checked first: an invalid one is reported by its line number and
    nothing is published.

    \b
    Examples:
      dids optout load opt-outs-2026-11.txt
      dids optout load national-list-2026-12.txt --replace   # the full list: the others come off
      dids optout load opted-back-in.txt --remove
    """
    from producers.number_list import read_number_list

    if remove_ and replace:
        raise click.UsageError("--replace loads the whole list; --remove takes persons off: give one of them")
    entries = read_number_list(file)
    if not entries:
        raise click.ClickException(f"{file} holds no NHS number (one a line; # starts a comment)")
    _publish(entries, remove=remove_, replace=replace)


@command.command("count")
def count() -> None:
    """How many persons the opt-out list holds, as the warehouse has it (what extracts apply), and
    whether changes are still on their way from Kafka.

    \b
    Examples:
      dids optout count
    """
    from sinks.clickhouse import connect
    from sinks.dissemination.optout import changes_not_copied, opted_out_count

    settings = Settings.from_env()
    client = connect(settings)
    n = opted_out_count(client, settings.clickhouse_database)
    click.echo(f"{n:,} person(s) on the national data opt-out list")
    waiting = changes_not_copied(settings, client)
    if waiting:
        click.echo(f"{waiting:,} change(s) on dids.optout not yet in the warehouse: is `dids sink` running?")


def _publish(entries: list[tuple[str, str]], *, remove: bool, replace: bool = False) -> None:
    from dids.kernel.pseudonyms import Pseudonymiser, load_pseudonymisation_key
    from dids.kernel.topics import ensure_topics
    from producers.optout import hash_numbers, publish_optouts

    settings = Settings.from_env()
    pseudonymiser = Pseudonymiser(load_pseudonymisation_key(settings))  # no key: fail before touching Kafka
    person_ids = hash_numbers(pseudonymiser, entries)  # every number checked before anything is sent
    ensure_topics(settings)
    dropped = _not_in(settings, set(person_ids)) if replace else []
    published = publish_optouts(settings, person_ids, remove=remove)
    what = "removed from" if remove else "added to"
    click.echo(f"{published:,} person(s) {what} the national data opt-out list, from {len(entries):,} NHS number(s)")
    if replace:
        publish_optouts(settings, dropped, remove=True)
        click.echo(f"{len(dropped):,} person(s) no longer on the list taken off it")


def _not_in(settings: Settings, kept: set[str]) -> list[str]:
    """Who is on the list now (as the warehouse holds it, which must be up to date) but not in ``kept``."""
    from sinks.clickhouse import connect
    from sinks.dissemination.optout import changes_not_copied, opted_out_persons

    client = connect(settings)
    waiting = changes_not_copied(settings, client)
    if waiting:
        raise click.ClickException(
            f"{waiting:,} opt-out change(s) are not in the warehouse yet, so the current list is not known: start "
            "or wait for `dids sink` (`dids optout count`), then run again. Nothing was published."
        )
    return sorted(set(opted_out_persons(client, settings.clickhouse_database)) - kept)
