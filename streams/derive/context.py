"""The ODS roles that make a provider NHS for PROVIDER_CODE (DIDS-SPEC §7.4)."""

from __future__ import annotations

# ODS roles that make a site's PROVIDER_CODE its first 3 characters (DIDS-SPEC §7.4 step 2): NHS trust,
# NHS trust site, foundation trust, care trust, care trust site, clinical commissioning group / sub-ICB
# location. Assumption: role codes as in the ODS role list; add others (CCG sites, walk-in centres) through
# this set when the loaded ODS data uses them.
NHS_PROVIDER_ROLES = frozenset({"RO197", "RO198", "RO57", "RO107", "RO108", "RO98"})
