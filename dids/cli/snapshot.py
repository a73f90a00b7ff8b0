"""`dids snapshot`: take a monthly snapshot now, or every snapshot that is due (once, or on a timer)."""

from __future__ import annotations

import logging
import time
from datetime import date

import click

from dids.kernel.settings import Settings

log = logging.getLogger(__name__)


@click.command("snapshot")
@click.option("--month", help="Reporting month YYYY-MM (the month of the test date).")
@click.option("--kind", type=click.Choice(["provisional", "final"]), help="Which snapshot of the month.")
@click.option("--due", is_flag=True, help="Take every snapshot whose day has come (DIDS_SNAPSHOT_*_DAYS).")
@click.option("--watch", type=float, metavar="SECONDS", help="With --due: keep checking every SECONDS.")
def command(month: str | None, kind: str | None, due: bool, watch: float | None) -> None:
    """Freeze a reporting month's current records as its provisional or final snapshot.

    Snapshots are immutable copies in `snapshot_examinations`; taking the same month and kind again
    replaces it atomically, and `snapshots` lists what was taken, when, and with which reference data.
    The statistics views read them with source = 'provisional' / 'final' (live data: 'live').

    \b
    Examples:
      dids snapshot --month 2026-10 --kind provisional
      dids snapshot --due                 # what the schedule calls for today (cron it daily)
      dids snapshot --due --watch 3600    # or let it run, checking hourly
      dids sql "SELECT * FROM snapshot_revisions WHERE month = '2026-10'"   # provisional vs final
    """
    from sinks import snapshots
    from sinks.clickhouse import DatabaseError, OperationalError, connect

    if due == bool(month or kind):
        raise click.UsageError("give either --month and --kind, or --due")
    if not due and not (month and kind):
        raise click.UsageError("--month and --kind go together")
    if watch is not None and not due:
        raise click.UsageError("--watch goes with --due")
    settings = Settings.from_env()
    db = settings.clickhouse_database
    refdata = snapshots.refdata_version(settings.refdata_dir)
    try:
        client = connect(settings)
        if not due:
            _report(snapshots.take(client, db, snapshots.check_month(month), kind, refdata=refdata))
            return
        policy = snapshots.Policy(settings.snapshot_provisional_days, settings.snapshot_final_days)
        while True:
            todo = snapshots.due(
                date.today(), snapshots.months_with_data(client, db), snapshots.taken(client, db), policy
            )
            if not todo:
                click.echo("no snapshot is due")
            for m, k in todo:
                _report(snapshots.take(client, db, m, k, refdata=refdata))
            if watch is None:
                return
            time.sleep(watch)
    except (DatabaseError, OperationalError) as exc:
        raise click.ClickException(
            f"ClickHouse refused the snapshot: {str(exc).strip().splitlines()[0]} "
            "(is the warehouse up and `dids db migrate` done?)"
        ) from exc


def _report(snap) -> None:
    click.echo(
        f"{snap.kind} snapshot of {snap.month}: {snap.records} records (taken {snap.taken_at:%Y-%m-%d %H:%M:%S} UTC)"
    )
