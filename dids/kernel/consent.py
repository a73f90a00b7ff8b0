"""The withdrawn-consent contract (DIDS-SPEC §7.9): the statuses a ``consent_change`` on ``dids.consent``
carries (key = the person id), and the error both its producer and its readers raise."""

from __future__ import annotations

from dids.kernel.errors import DidsError

WITHDRAWN = "withdrawn"
REINSTATED = "reinstated"


class ConsentError(DidsError):
    """The consent list cannot be read or published."""
