"""What a rule is (DIDS-RULES introduction and §1.1, §1.4): how bad a failure is, and what a rule needs
besides the record. A rule's result for a record is a column of the columnar engine
(``streams.columnar.engine``: ``r_<code>`` null passed, 0 not checked, >= 1 failed)."""

from __future__ import annotations

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
