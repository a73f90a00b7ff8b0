"""`dids warehouse`: the ClickHouse engine in this process, serving ClickHouse's HTTP interface."""

from __future__ import annotations

from pathlib import Path

import click

from dids.kernel.settings import Settings


@click.command("warehouse")
@click.option(
    "--data",
    "data_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Data directory (owned by this process) [DIDS_HOME/warehouse].",
)
@click.option("--port", type=int, default=8123, show_default=True, help="HTTP port.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (keep it loopback).")
@click.option(
    "--analyst-user", envvar="DIDS_ANALYST_USER", default=None, help="Read-only user [DIDS_ANALYST_USER, analyst]."
)
def command(data_dir: Path | None, port: int, host: str, analyst_user: str | None) -> None:
    """Run the warehouse in the foreground: ClickHouse (chDB) on disk, ClickHouse HTTP interface.

    clickhouse-connect, curl and Grafana talk to it as to a ClickHouse server. The `default`
    user is the admin: its password is DIDS_ADMIN_PASSWORD (or the file DIDS_ADMIN_PASSWORD_FILE),
    else one generated on first start into DIDS_HOME/secrets/admin_password (0600). There is no
    login without a password. The analyst user is read-only (DIDS_ANALYST_PASSWORD, `analyst` on
    loopback only). Creates the database DIDS_CLICKHOUSE_DATABASE if missing. Stop it with Ctrl-C
    or SIGTERM.

    \b
    Example:
      dids warehouse --data .dids/warehouse --port 8123
      curl -u "default:$(cat .dids/secrets/admin_password)" 'http://127.0.0.1:8123/?query=SELECT%20version()'
      curl -u analyst:analyst 'http://127.0.0.1:8123/' --data-binary 'SELECT count() FROM dids.activity_monthly'
    """
    from deploy.warehouse.server import serve
    from dids.cli.local_stack import local_accounts

    settings = local_accounts(Settings.from_env(analyst_user=analyst_user), host)
    serve(settings, data_dir or settings.home / "warehouse", host=host, port=port)
