"""`dids consent`: record withdrawn (or reinstated) consent on the consent topic; prints counts only."""

from __future__ import annotations

from pathlib import Path

import click

from dids.kernel.settings import Settings

_EPILOG = """\b
The NHS numbers are hashed with the pseudonymisation key (DIDS_PSEUDONYMISATION_KEY_FILE) before
anything is sent: only the keyed hash reaches Kafka, and the output shows counts, never numbers.
Every number is checked first (10 digits, modulus 11); one invalid number stops the command and
nothing is published.
"""

_numbers = click.argument("nhs_numbers", nargs=-1, metavar="NHS_NUMBER...")
_from_file = click.option(
    "--from-file",
    "from_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Read NHS numbers from FILE, one per line (blank lines and lines starting with # are ignored).",
)


@click.group("consent", epilog=_EPILOG)
def command() -> None:
    """Withdrawn consent (DID-specific objections): applied at collection.

    A withdrawn person's examinations are dropped by the stream processors from then on.

    \b
    Examples:
      dids consent withdraw 9434765919
      dids consent withdraw --from-file objections.txt
      dids consent reinstate "943 476 5919"
    """


@command.command("withdraw", epilog=_EPILOG)
@_numbers
@_from_file
def withdraw(nhs_numbers: tuple[str, ...], from_file: Path | None) -> None:
    """Mark the persons with these NHS numbers as having withdrawn consent.

    \b
    Examples:
      dids consent withdraw 9434765919 "943-476-5919"
      DIDS_PSEUDONYMISATION_KEY_FILE=/run/secrets/dids.key dids consent withdraw --from-file objections.txt
    """
    _publish(nhs_numbers, from_file, reinstate=False)


@command.command("reinstate", epilog=_EPILOG)
@_numbers
@_from_file
def reinstate(nhs_numbers: tuple[str, ...], from_file: Path | None) -> None:
    """Reinstate consent for these NHS numbers (their new examinations are collected again).

    \b
    Examples:
      dids consent reinstate 9434765919
      dids consent reinstate --from-file reinstated.txt
    """
    _publish(nhs_numbers, from_file, reinstate=True)


def _publish(nhs_numbers: tuple[str, ...], from_file: Path | None, *, reinstate: bool) -> None:
    from dids.kernel.pseudonyms import Pseudonymiser, load_pseudonymisation_key
    from dids.kernel.topics import ensure_topics
    from producers.consent import publish_withdrawals

    # (where, number): the position to name in an error, since the number itself is never shown
    entries = [(f"argument {i}", n) for i, n in enumerate(nhs_numbers, start=1)]
    if from_file is not None:
        entries += _read_numbers(from_file)
    if not entries:
        raise click.UsageError("give at least one NHS_NUMBER or --from-file FILE")
    _check(entries)
    numbers = [n for _, n in entries]
    settings = Settings.from_env()
    pseudonymiser = Pseudonymiser(load_pseudonymisation_key(settings))  # no key: fail before touching Kafka
    ensure_topics(settings)
    published = publish_withdrawals(settings, numbers, reinstate=reinstate, pseudonymiser=pseudonymiser)
    what = "reinstated" if reinstate else "withdrawn"
    click.echo(f"{what}: {published:,} person(s) from {len(numbers):,} NHS number(s)")


def _read_numbers(path: Path) -> list[tuple[str, str]]:
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        line = line.strip()
        if line and not line.startswith("#"):
            out.append((f"{path} line {n}", line))
    return out


def _check(entries: list[tuple[str, str]]) -> None:
    from dids.kernel.nhs_number import is_valid_nhs_number, normalise_nhs_number

    bad = [where for where, number in entries if not is_valid_nhs_number(normalise_nhs_number(number))]
    if bad:
        shown = "; ".join(bad[:10]) + ("; ..." if len(bad) > 10 else "")
        raise click.ClickException(
            f"{len(bad)} invalid NHS number(s) (10 digits, modulus 11 check), at: {shown}. Nothing was published."
        )
