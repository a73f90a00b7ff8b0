"""The national derived fields (DIDS-SPEC §7): what the columnar derivations share.

The columns themselves are ``streams.columnar.derivations``'. Here: the national column table
(``national``), the code-list labels (``codes``), the age bands (``ages``) and referrer types
(``referrer``), and the per-key reference questions a batch asks once per distinct key: organisations
and their names, provider and commissioner as at the test date (``organisations``), LSOA/MSOA
(``geography``), the clinical classification (``classification``), restricted codes (``restricted``),
and ``asat``, which picks dated reference rows.
"""

from streams.derive.context import NHS_PROVIDER_ROLES
from streams.derive.national import NATIONAL_COLUMNS, NULL_COLUMNS

__all__ = ["NATIONAL_COLUMNS", "NHS_PROVIDER_ROLES", "NULL_COLUMNS"]
