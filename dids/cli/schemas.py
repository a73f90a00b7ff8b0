"""`dids schemas`: the Avro schemas in schemas/avro/ and their compatibility."""

from __future__ import annotations

import click


@click.group("schemas")
def command() -> None:
    """Avro schema versions (single-object encoding, fingerprints) and compatibility checks.

    \b
    Examples:
      dids schemas list
      dids schemas check
    """


@command.command("list")
def list_command() -> None:
    """List every schema version with its CRC-64-AVRO fingerprint (as written in message headers)."""
    from schemas.catalog import default_catalog

    catalog = default_catalog()
    for name in catalog.names():
        for v in catalog.versions(name):
            click.echo(f"{name:22} v{v.version}  {v.fingerprint.hex()}")


@command.command("check")
def check_command() -> None:
    """Prove each schema version reads data written with every older version of it.

    Exit status 1 if any cannot. Run it after adding schemas/avro/<name>.v<N+1>.avsc.

    \b
    Example:
      dids schemas check
    """
    from schemas.catalog import Catalog
    from schemas.compatibility import check_catalog

    catalog = Catalog.from_directory()
    problems = check_catalog(catalog)
    pairs = sum(len(catalog.versions(n)) * (len(catalog.versions(n)) + 1) // 2 for n in catalog.names())
    for p in problems:
        click.secho(str(p), fg="red", err=True)
    if problems:
        raise SystemExit(1)
    click.echo(f"ok: {pairs} writer/reader version pairs across {len(catalog.names())} schemas are compatible")
