"""Radiological accession number and record uniqueness (DIDS-RULES §2.17, §3): DIDS070 072 071.

DIDS072 checks only the length (as the reference), although the item is "alphanumeric, max 20".
DIDS071 is the one rule over a whole submission: its key is the site code and accession number, each
trimmed, compared exactly and case-sensitively; a record with either part blank is left out (DIDS067/070
reject it); every member of a duplicate group fails it, the first included. ``dids validate`` works it
out over the file (``dids.cli.validation``), ``dids submit`` flags each event whose key repeats.
"""

from __future__ import annotations

MAX_ACCESSION_LENGTH = 20
UNIQUENESS_FIELDS = ("site_code_imaging", "radiological_accession_num")
