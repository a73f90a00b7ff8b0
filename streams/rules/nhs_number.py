"""NHS number status indicator codes (DIDS-RULES §2.2): DIDS003. The NHS number's own validity (DIDS001,
§5) is ``dids.kernel.nhs_number``'s; the rules as expressions are in ``streams.columnar.checks``."""

from __future__ import annotations

NHS_NUMBER_STATUS_CODES = frozenset({"01", "02", "03", "04", "05", "06", "07", "08"})
