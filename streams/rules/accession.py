"""Radiological accession number and record uniqueness (DIDS-RULES §2.17, §3): DIDS070 072 071.

DIDS071 is the one rule over a whole submission: ``find_duplicates``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from streams.cleanse import CleansedRecord
from streams.rules.common import finding, is_blank
from streams.rules.context import Context
from streams.rules.results import Finding

MAX_ACCESSION_LENGTH = 20
UNIQUENESS_FIELDS = ("site_code_imaging", "radiological_accession_num")


def check_accession_present(record: CleansedRecord, context: Context) -> Finding | None:
    """DIDS070: accession number blank (mandatory item)."""
    if is_blank(record.radiological_accession_num):
        return finding("radiological_accession_num")
    return None


def check_accession_length(record: CleansedRecord, context: Context) -> Finding | None:
    """DIDS072: accession number longer than 20 characters.

    Only the length is checked, as in the reference, although the item is "alphanumeric, max 20".
    """
    value = record.radiological_accession_num
    if is_blank(value) or len(value) <= MAX_ACCESSION_LENGTH:
        return None
    return finding("radiological_accession_num")


def find_duplicates(records: Sequence[CleansedRecord]) -> dict[int, tuple[str, str]]:
    """DIDS071: the records whose (site code, accession number) occurs more than once in the submission.

    Returns ``{index: (site_code, accession)}`` for **every** member of every duplicate group, the first
    included (no record is kept). Keys are compared after trimming, exactly and case-sensitively. Records
    with either part blank are left out (DIDS067/070 reject them). Run it on the whole submission before
    any record is dropped. Across submissions the same key is a new version, not a duplicate.
    """
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for index, record in enumerate(records):
        site, accession = record.site_code_imaging, record.radiological_accession_num
        if is_blank(site) or is_blank(accession):
            continue
        groups[(site.strip(), accession.strip())].append(index)
    duplicates = {index: key for key, indices in groups.items() if len(indices) > 1 for index in indices}
    return dict(sorted(duplicates.items()))
