"""Every derived field of the national DIDS record (DIDS-SPEC §7), as pure functions.

Order of work for one record::

    mapped = map_local_code(record, context)       # §7.7, before validation; mapped.local_code for audit
    outcome = validate(mapped.record, rules_context)
    columns = derive(mapped.record, context)       # §7.11 columns, rejected records too

One module per group: ``ages`` (§7.1-7.2), ``intervals`` and ``codes`` (§7.3), ``referrer`` (§7.5),
``organisations`` and ``geography`` (§7.4), ``classification`` (§7.5-7.6), ``local_codes`` (§7.7),
``restricted`` (§7.8); ``national`` assembles them and ``asat`` picks dated reference rows.
"""

from streams.derive.context import NHS_PROVIDER_ROLES, DeriveContext
from streams.derive.local_codes import LocalCodeMapping, map_local_code
from streams.derive.national import NATIONAL_COLUMNS, Derivation, derive, derive_all

__all__ = [
    "NATIONAL_COLUMNS",
    "NHS_PROVIDER_ROLES",
    "Derivation",
    "DeriveContext",
    "LocalCodeMapping",
    "derive",
    "derive_all",
    "map_local_code",
]
