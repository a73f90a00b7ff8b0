"""`dids up`, `dids down`, `dids status`: the whole pipeline locally, as background processes."""

from __future__ import annotations

import click

from dids.kernel.settings import Settings


def _layout(settings: Settings):
    from dids.cli.local_stack import Layout

    return Layout(settings.home)


@click.command("up")
@click.option(
    "--simulate/--no-simulate",
    default=True,
    show_default=True,
    help="Also start the RIS simulator feeding the pipeline.",
)
@click.option("--rate", type=float, default=50.0, show_default=True, help="Simulator events per second.")
@click.option(
    "--duration",
    type=float,
    default=0.0,
    show_default=True,
    help="Simulator run time in seconds (0 = until `dids down`).",
)
@click.option("--seed", type=int, default=1, show_default=True, help="Simulator random seed.")
@click.option(
    "--backfill/--no-backfill",
    default=True,
    show_default=True,
    help="With --simulate: before the live traffic, publish 13 months of simulated history through the "
    "pipeline (about 2.5 minutes on 2 busy cores, with a progress bar), once per DIDS_HOME (marker "
    "DIDS_HOME/backfill.json). --no-backfill skips it.",
)
@click.option(
    "--backfill-volume",
    type=click.FloatRange(min=1),
    default=None,
    help="Requests a day in the history, across the simulated providers [120].",
)
@click.option(
    "--demo/--no-demo",
    default=None,
    help="Demo mode: the well-known demo pseudonymisation key and the shipped sample reference data "
    "[DIDS_DEMO, else on]. Use --no-demo (or DIDS_DEMO=0) with DIDS_PSEUDONYMISATION_KEY_FILE and "
    "DIDS_REFDATA_DIR for real data.",
)
def up_command(
    simulate: bool,
    rate: float,
    duration: float,
    seed: int,
    backfill: bool,
    backfill_volume: float | None,
    demo: bool | None,
) -> None:
    """Start the local stack: Kafka broker, ClickHouse warehouse, stream worker, sink (and simulator).

    Everything runs on loopback with its data, logs and pid files under DIDS_HOME (default .dids/).
    The Kafka jars are fetched with Maven the first time. With the simulator, the first `dids up` of a
    DIDS_HOME first backfills 13 months of simulated history (through Kafka, the stream worker and the
    sink, like live traffic); the live traffic then continues from where the history ends.

    \b
    Examples:
      dids up                      # everything: the history once, then simulated RIS traffic at 50 events/s
      dids up --no-backfill        # live traffic only, no history
      dids up --no-simulate        # feed it yourself: dids simulate --count 1000
      dids status; dids down
    """
    import os

    from dids.cli import backfill as history
    from dids.cli.local_stack import PARTS, local_accounts, start_part, warehouse_address
    from dids.cli.simulate import SIMULATED_PROVIDERS
    from dids.kernel.topics import changelog_spec, ensure_topics
    from producers.history import DAILY_VOLUME
    from sinks.migrate import migrate

    if demo is None:
        demo = os.environ.get("DIDS_DEMO", "1") != "0"
    settings = Settings.from_env(demo=1 if demo else 0)
    layout = _layout(settings)
    layout.home.mkdir(parents=True, exist_ok=True)
    layout.home.chmod(0o700)  # logs, data and secrets of this stack: its owner's only
    settings = local_accounts(settings, warehouse_address(settings)[0])
    click.echo(f"Starting DIDS Stream in {layout.home.resolve()} (logs in {layout.logs.resolve()})")
    click.echo(f"  admin password of the warehouse's `default` account: {layout.home.resolve()}/secrets/admin_password")
    for part in PARTS:
        if part == "simulator" and not simulate:
            continue
        if part == "streams":
            ensure_topics(settings, extra=[changelog_spec(settings)])
            migrate(settings)
        sim_args = ("--rate", str(rate), "--duration", str(duration), "--seed", str(seed))
        if part == "simulator":
            if backfill:
                volume = backfill_volume or DAILY_VOLUME
                done = history.run(settings, layout, seed=seed, providers=SIMULATED_PROVIDERS, daily_volume=volume)
                click.echo("  " + (done or f"history: backfilled already ({history.marker_path(layout.home)})"))
            end = history.history_end(layout.home)
            if end is not None:  # the live traffic continues the history
                sim_args += ("--since", end.isoformat())
        click.echo("  " + start_part(settings, layout, part, simulate_args=sim_args))
    click.echo(
        "Up. Try:\n"
        "  dids status\n"
        '  dids sql "SELECT provider_code, modality, count() AS tests FROM current_examinations '
        'GROUP BY ALL ORDER BY tests DESC"\n'
        "  dids report --month $(date +%Y-%m) --out report.html\n"
        "  dids down"
    )


@click.command("down")
def down_command() -> None:
    """Stop every part of the local stack (data is kept; `dids up` continues from it)."""
    from dids.cli.local_stack import PARTS, stop_part

    layout = _layout(Settings.from_env())
    for part in reversed(PARTS):
        click.echo("  " + stop_part(layout, part))


@click.command("status")
def status_command() -> None:
    """Show each part of the local stack with its address, health, topic and table counts."""
    from rich.console import Console
    from rich.table import Table

    from dids.cli.local_stack import status, table_counts, topic_counts

    settings = Settings.from_env()
    console = Console()
    table = Table("part", "pid", "address", "health", "detail")
    parts = status(settings, _layout(settings))
    for p in parts:
        table.add_row(
            p.part, str(p.pid or "-"), p.address, "[green]up[/green]" if p.healthy else "[red]down[/red]", p.detail
        )
    console.print(table)
    from dids.kernel.secrets import ADMIN_PASSWORD, secrets_dir

    admin = secrets_dir(settings.home) / ADMIN_PASSWORD
    if admin.exists():
        console.print(f"warehouse admin (`default`) password: {admin.resolve()}", markup=False, highlight=False)
    by_part = {p.part: p for p in parts}
    if by_part["kafka"].healthy:
        topics = Table("topic", "messages")
        for name, n in topic_counts(settings).items():
            topics.add_row(name, f"{n:,}")
        console.print(topics)
    if by_part["warehouse"].healthy:
        try:
            counts = table_counts(settings)
        except Exception as exc:  # tables may not exist before the first `dids up`
            console.print(f"tables: unavailable ({str(exc).splitlines()[0][:120]})")
        else:
            tables = Table("table", "rows")
            for name, n in counts.items():
                tables.add_row(name, f"{n:,}")
            console.print(tables)
