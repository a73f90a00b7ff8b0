"""What a derivation may see besides the record: reference data, the submitter and options."""

from __future__ import annotations

from dataclasses import dataclass, field

from streams.refdata.protocols import ReferenceData
from streams.rules.context import GracePeriod

# ODS roles that make a site's PROVIDER_CODE its first 3 characters (DIDS-SPEC §7.4 step 2): NHS trust,
# NHS trust site, foundation trust, care trust, care trust site, clinical commissioning group / sub-ICB
# location. Assumption: role codes as in the ODS role list; add others (CCG sites, walk-in centres) through
# ``DeriveContext.nhs_roles`` when the loaded ODS data uses them.
NHS_PROVIDER_ROLES = frozenset({"RO197", "RO198", "RO57", "RO107", "RO108", "RO98"})


@dataclass(frozen=True)
class DeriveContext:
    """Reference data (None, or any table None, gives NULL for the fields that need it), the submitting
    organisation from the submission metadata (not a data item), the code grace period (the same as the
    rules' ``Context.grace``) and the ODS roles that count as NHS for PROVIDER_CODE.
    """

    refdata: ReferenceData | None = None
    submitter_org: str | None = None
    grace: GracePeriod = field(default_factory=GracePeriod)
    nhs_roles: frozenset[str] = NHS_PROVIDER_ROLES

    @property
    def tables(self) -> ReferenceData:
        """The reference data, or an empty snapshot (every table None) when there is none."""
        return self.refdata if self.refdata is not None else ReferenceData()
