"""Rule results (DIDS-RULES introduction and §1.1).

A rule *function* only answers "does the condition hold?": it returns ``None`` (nothing to report), a
``Finding`` (the fields involved, plus any derived values) or, rarely, ``Unavailable`` (an input it needs
is missing for this record only). It does not know its own code or severity:
the registry holds those, and turns the answer into ``Pass``, ``Fail`` or ``NotChecked``. That keeps the
code -> severity table in one place (``registry.py``) and lets a severity become configurable later
(DIDS023, DIDS-RULES §8.2) without touching the rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Severity(Enum):
    """How bad a failure is (DIDS-RULES §1.1)."""

    REJECT_RECORD = "REJECT_RECORD"  # the record is left out; the rest of the file goes ahead
    WARNING = "WARNING"  # the record is accepted and keeps a flag
    REJECT_FILE = "REJECT_FILE"  # the whole submission is rejected; no record rules run


class Need(Enum):
    """What a rule needs beyond the record itself (DIDS-RULES §1.4). The value is the name in reasons."""

    SUBMISSION_TIME = "submission time"
    ODS = "ODS"
    POSTCODES = "ONS postcode directory"
    NICIP = "NICIP table"
    SNOMED = "imaging SNOMED table"
    WHOLE_SUBMISSION = "whole submission"  # DIDS071: see accession.find_duplicates
    FILE = "file structure"  # DIDS075/076: checked by the file readers, not by record rules


@dataclass(frozen=True)
class Finding:
    """A rule's condition holds for this record.

    ``fields`` names the items involved (``ITEM_NAMES``). ``derived`` carries values national processing
    derives from the failure, as ``(name, value)`` pairs: DIDS023 gives ``(("referrer_code", "99"),)``.
    """

    fields: tuple[str, ...]
    derived: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Unavailable:
    """A rule cannot decide for this record because part of its input is missing: becomes NotChecked.

    Whole missing tables are handled by the registry from the rule's needs; this is for gaps inside a
    table, such as a NICIP code with no SNOMED CT mapping (DIDS082).
    """

    reason: str


@dataclass(frozen=True)
class Pass:
    """The rule ran and the record satisfies it (including "nothing to check", e.g. a blank value)."""

    code: str


@dataclass(frozen=True)
class Fail:
    """The record breaks rule ``code``; ``fields`` and ``derived`` as in ``Finding``."""

    code: str
    severity: Severity
    fields: tuple[str, ...]
    derived: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class NotChecked:
    """The rule could not run: ``reason`` is ``"missing <table>"``. Never counted as a pass."""

    code: str
    reason: str


Result = Pass | Fail | NotChecked
