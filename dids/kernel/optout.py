"""The national data opt-out contract (DIDS-SPEC §11): the statuses an ``optout_change`` on ``dids.optout``
carries (key = the person id, the same keyed hash as the records'), and the error raised around it.

The opt-out applies at dissemination, not at collection: the stream ignores it, the warehouse keeps every
record and statistics count them; record-level extracts and the linkage feed leave the person out unless
their agreement is exempt."""

from __future__ import annotations

from dids.kernel.errors import DidsError

OPTED_OUT = "opted_out"
REMOVED = "removed"


class OptOutError(DidsError):
    """The opt-out list cannot be read or published."""
