"""`dids extract`: an approved data-sharing agreement's records to a Parquet or CSV file, audited."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import click

from dids.kernel.settings import Settings

_EPILOG = """\b
The agreement (YAML):
  recipient: University of Example, Imaging Research Group
  reference: DARS-NIC-123456-ABCDE
  purpose: Variation in CT waiting times by deprivation
  legal_basis: UK GDPR 6(1)(e) and 9(2)(j); NHS England data sharing agreement
  expires: 2027-03-31
  columns: [person_id, provider_code, modality, diagnostic_test_date, age_band_5_years, location_lsoa]
  months: 2026-01..2026-06          # or a list [2026-09, 2026-10], or {from: 2026-01, to: 2026-06}
  providers: [RAA, RBB]             # optional: every provider when left out
  modalities: [Computerized axial tomography]   # optional
  national_data_opt_out: apply      # apply (default) | exempt (needs a legal_basis that says why)
\b
person_id in an extract is the recipient's own pseudonym (a keyed hash for this recipient only), so two
recipients cannot join their extracts on it. Records of persons on the national data opt-out list
(`dids optout`) are left out unless the agreement is exempt; withdrawn consent is always left out. An
expired agreement, a column off the allow-list or an identifier is refused before anything is queried.
The file is created new (never over another) readable by its owner only, with FILE.manifest.json
beside it (agreement, rows, records left out by the opt-out, SHA-256), and each run is a row of the
dissemination_audit table, which analysts can read and not change.
"""


@click.command("extract", epilog=_EPILOG)
@click.option(
    "--agreement",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The data-sharing agreement, a YAML file (see below).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    help="The extract to write: FILE.parquet or FILE.csv (the format follows the extension); must not exist.",
)
@click.option("--list-columns", is_flag=True, help="Print the published allow-list of extract columns and exit.")
def command(agreement: Path | None, out: Path | None, list_columns: bool) -> None:
    """Write the records an approved data-sharing agreement covers, with its manifest and an audit row.

    \b
    Examples:
      dids extract --list-columns
      dids extract --agreement DARS-NIC-123456.yaml --out DARS-NIC-123456-2026-11.parquet
      dids extract --agreement ndrs-audit.yaml --out ndrs-audit.csv
    """
    from sinks.dissemination.columns import EXTRACT_COLUMNS

    if list_columns:
        width = max(map(len, EXTRACT_COLUMNS))
        for name, meaning in EXTRACT_COLUMNS.items():
            click.echo(f"{name:<{width}}  {meaning}")
        return
    if agreement is None or out is None:
        raise click.UsageError("give --agreement FILE.yaml and --out FILE.parquet|FILE.csv (or --list-columns)")

    from dids.cli.release import refuse_while_optouts_pending, say_released
    from dids.kernel.pseudonyms import load_pseudonymisation_key
    from sinks.clickhouse import connect
    from sinks.dissemination.agreement import load_agreement
    from sinks.dissemination.columns import PERSON_ID
    from sinks.dissemination.extract import run_extract
    from sinks.dissemination.output import check_output

    settings = Settings.from_env()
    terms = load_agreement(agreement, today=datetime.now(timezone.utc).date())
    check_output(out)
    key = load_pseudonymisation_key(settings) if PERSON_ID in terms.columns else b""
    client = connect(settings)
    refuse_while_optouts_pending(settings, client, terms, "extract")
    result = run_extract(client, settings.clickhouse_database, terms, out, key=key)
    say_released(result, terms, out)
