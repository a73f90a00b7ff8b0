"""Code lists of the personal demographics rules (DIDS-RULES §2.4-2.5): DIDS012, DIDS014.

DIDS012 is case-sensitive (``a`` fails); the reference treats only a true null gender as missing, here
blank after trimming also passes (assumption). The rules as expressions: ``streams.columnar.checks``.
"""

from __future__ import annotations

ETHNIC_CATEGORY_CODES = frozenset("ABCDEFGHJKLMNPRSZ") | {"99"}
PERSON_GENDER_CODES = frozenset({"0", "1", "2", "9"})
