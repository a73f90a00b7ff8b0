"""`dids linkage`: the cancer-registry linkage feed for a month or since a day, audited."""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from pathlib import Path

import click

from dids.kernel.settings import Settings

_EPILOG = """\b
The registry links DIDS records to its own patients with a linkage pseudonym: the HMAC-SHA256 (hex) of
the 10-digit NHS number with a key the registry shares (DIDS_LINKAGE_KEY_FILE). The stream processors
compute it while the key is configured; the warehouse never holds an NHS number, and the pseudonyms sit
in a table only the linkage account reads. Withdrawn consent is always left out, the national data
opt-out unless the agreement is exempt. The agreement is YAML, like an extract's without columns or
months (recipient, reference, purpose, legal_basis, expires, national_data_opt_out, optional providers
and modalities). Each run writes a new file with FILE.manifest.json beside it and a row of kind
`linkage` in the dissemination_audit table.
"""
_MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")


@click.command("linkage", epilog=_EPILOG)
@click.option(
    "--agreement",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The registry's data-sharing agreement (YAML).",
)
@click.option("--month", help="Monthly run: the tests of this month, YYYY-MM.")
@click.option("--since", help="Daily run: the records received since this day (UTC), YYYY-MM-DD.")
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path),
    help="The feed to write: FILE.parquet or FILE.csv; must not exist.",
)
def command(agreement: Path, month: str | None, since: str | None, out: Path) -> None:
    """Write the cancer-registry linkage feed for a month (--month) or since a day (--since).

    \b
    Examples:
      dids linkage --agreement ndrs.yaml --month 2026-10 --out ndrs-2026-10.parquet
      dids linkage --agreement ndrs.yaml --since 2026-11-03 --out ndrs-daily-2026-11-03.csv
    """
    if (month is None) == (since is None):
        raise click.UsageError("give one of --month YYYY-MM (monthly run) or --since YYYY-MM-DD (daily run)")
    if month is not None and not _MONTH.fullmatch(month):
        raise click.BadParameter("a month is YYYY-MM, e.g. 2026-10", param_hint="--month")
    day = None
    if since is not None:
        try:
            day = date.fromisoformat(since) if len(since) == 10 else None
        except ValueError:
            day = None
        if day is None or day.year < 1990:
            raise click.BadParameter("a day is YYYY-MM-DD, e.g. 2026-11-03", param_hint="--since")

    from dids.cli.release import refuse_while_optouts_pending, say_released
    from sinks.clickhouse import connect
    from sinks.dissemination.agreement import load_agreement
    from sinks.dissemination.linkage import Window, run_linkage
    from sinks.dissemination.output import check_output
    from streams.runtime.linkage import MAKE_A_LINKAGE_KEY, load_linkage_key

    settings = Settings.from_env()
    if load_linkage_key(settings) is None:
        raise click.ClickException(
            "no linkage key is configured, so the stream computes no linkage pseudonym and there is no feed: "
            f"{MAKE_A_LINKAGE_KEY}. Records processed before the key was set have none until they are sent again."
        )
    terms = load_agreement(agreement, today=datetime.now(timezone.utc).date(), linkage=True)
    check_output(out)
    client = connect(settings)
    refuse_while_optouts_pending(settings, client, terms, "feed")
    result = run_linkage(client, settings.clickhouse_database, terms, Window(month, day), out)
    say_released(result, terms, out)
