"""The disclosure-control rules of the published statistics views (``pub_*``, migration 0010).

The rules are data, not SQL text: ``dids db migrate`` checks ``DIDS_DISCLOSURE_*`` here and records
them as a typed row of ``<db>.disclosure_rules``; every ``pub_*`` view reads the latest row. So a
change of rules takes effect at the next migrate without re-creating a view, the history of the rules
in force is kept, a value never reaches ClickHouse as text, and an empty rules table leaves the views
empty rather than unprotected.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dids.kernel.errors import ConfigError
from dids.kernel.settings import Settings

RULES_TABLE = "disclosure_rules"
MAX_RULE = 1_000_000  # far above any sensible rule, far below what the UInt32 columns hold


@dataclass(frozen=True)
class DisclosureRules:
    """Counts 1..``threshold`` are suppressed; other non-zero sub-national counts are rounded to the
    nearest ``rounding_base`` (never down to 0). ``threshold`` 0 suppresses nothing, base 1 rounds nothing."""

    threshold: int = 7
    rounding_base: int = 5

    def __post_init__(self) -> None:
        _check("DIDS_DISCLOSURE_THRESHOLD", self.threshold, least=0)
        _check("DIDS_DISCLOSURE_ROUNDING_BASE", self.rounding_base, least=1)

    @classmethod
    def from_settings(cls, settings: Settings) -> DisclosureRules:
        return cls(settings.disclosure_threshold, settings.disclosure_rounding_base)

    def describe(self) -> str:
        """The rules in one sentence, for the report and the logs."""
        return (
            f"counts 1 to {self.threshold} suppressed, other sub-national counts rounded to the nearest "
            f"{self.rounding_base}, zeros and national totals exact"
        )


def _check(variable: str, value: object, *, least: int) -> None:
    # bool is an int to Python; a float or a string would reach the typed insert as something else
    if type(value) is not int:
        raise ConfigError(f"{variable}={value!r} is not a whole number")
    if not least <= value <= MAX_RULE:
        raise ConfigError(f"{variable}={value}: use a whole number from {least} to {MAX_RULE:,}")


def record_rules(client, database: str, rules: DisclosureRules) -> bool:
    """Record ``rules`` as the ones in force unless they already are. True when a row was added."""
    if current_rules(client, database) == rules:
        return False
    client.insert(
        f"{database}.{RULES_TABLE}",
        [[rules.threshold, rules.rounding_base]],
        column_names=["threshold", "rounding_base"],
    )
    return True


def current_rules(client, database: str) -> DisclosureRules | None:
    """The rules the pub_* views apply now (None before the first migrate records them)."""
    row = rules_in_force(client, database)
    return None if row is None else row[0]


def rules_in_force(client, database: str) -> tuple[DisclosureRules, datetime] | None:
    """The latest rules and when they were recorded."""
    table = f"{database}.{RULES_TABLE}" if database else RULES_TABLE
    rows = client.query(
        f"SELECT threshold, rounding_base, set_at FROM {table} ORDER BY set_at DESC LIMIT 1"
    ).result_rows
    if not rows:
        return None
    threshold, base, set_at = rows[0]
    return DisclosureRules(int(threshold), int(base)), set_at
