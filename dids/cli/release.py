"""What `dids extract` and `dids linkage` share: refusing to release while opt-outs are on their way, and
saying what was released."""

from __future__ import annotations

from pathlib import Path

import click


def refuse_while_optouts_pending(settings, client, terms, what: str) -> None:
    """An `apply` agreement waits until every opt-out change on dids.optout is in the warehouse: otherwise
    the release could include someone who has just opted out."""
    from sinks.dissemination.optout import changes_not_copied

    if not terms.applies_opt_out:
        return
    waiting = changes_not_copied(settings, client)
    if waiting:
        raise click.ClickException(
            f"{waiting:,} opt-out change(s) are on dids.optout but not in the warehouse yet, so the {what} "
            "could release someone who has opted out: start or wait for `dids sink` (`dids optout count` "
            "shows it), then run again. Nothing was written."
        )


def say_released(result, terms, out: Path) -> None:
    click.echo(
        f"wrote {result.rows:,} record(s) to {out} for {terms.recipient} ({terms.reference}); "
        + (
            f"{result.opted_out_left_out:,} left out by the national data opt-out"
            if terms.applies_opt_out
            else "exempt from the national data opt-out"
        )
    )
    click.echo(f"manifest {result.manifest}; audit run {result.run_id}; sha256 {result.sha256}")
