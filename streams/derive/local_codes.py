"""Per-submitter local exam code -> NICIP mapping, applied before validation (DIDS-SPEC §7.7).

National processing keeps a table of (submitting organisation, local exam code) -> NICIP code and
applies it before the rules run, so a mapped code is validated and classified as the NICIP code.
Assumptions: map only when the submitted value is not itself a valid NICIP code on the test date (active
or inside the grace window; with no NICIP table every mapped entry applies) and keep the original local
code for audit. No submitter, no map, or no entry in force on the test date: the record is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from streams.cleanse import CleansedRecord
from streams.formats import parse_calendar_date
from streams.rules.imaging_codes import CodeStatus, code_status

from .asat import as_at
from .context import DeriveContext


@dataclass(frozen=True)
class LocalCodeMapping:
    """The record to validate and derive, and the submitted local code when it was replaced (for audit)."""

    record: CleansedRecord
    local_code: str | None = None


def map_local_code(record: CleansedRecord, context: DeriveContext) -> LocalCodeMapping:
    """Replace a local exam code in IMAGING_CODE_NICIP by its national NICIP code (module docstring).

    The entry is looked up as at the test date (the latest entry when the test date is unusable); the
    submitter and code are matched in upper case.
    """
    code, submitter = record.imaging_code_nicip, context.submitter_org
    tables = context.tables
    if code is None or submitter is None or tables.local_codes is None:
        return LocalCodeMapping(record)
    on = parse_calendar_date(record.diagnostic_test_date)
    if tables.nicip is not None:
        versions = tables.nicip.versions(code.strip().upper())
        if versions and (on is None or code_status(versions, on, context.grace) in _VALID):
            return LocalCodeMapping(record)
    entry = as_at(tables.local_codes.versions(submitter, code), on, lambda row: (row.start, row.end))
    if entry is None:
        return LocalCodeMapping(record)
    return LocalCodeMapping(replace(record, imaging_code_nicip=entry.nicip_code.strip().upper()), code)


_VALID = (CodeStatus.ACTIVE, CodeStatus.GRACE)
