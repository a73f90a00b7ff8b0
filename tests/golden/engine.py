"""Golden outputs of the national rules and derivations, the proof of sameness for the columnar engine.

``engine.jsonl.gz`` was written once, by the per-record engine the columnar one replaced (its writer,
``python -m tests.golden.engine --write``, is in this file at commit 7a5efff): simulated records
breaking every rule the simulator can break, with and without reference data, as v1 and as v2 records
(with timestamps), and for each the verdict, the rule codes with severity and fields, the not-checked
list and every derived national column. The test (``tests/unit/streams/test_golden.py``) replays the
inputs through the columnar engine and compares. The file is never rewritten by the new engine: a
difference is a change of behaviour to explain.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

GOLDEN = Path(__file__).with_name("engine.jsonl.gz")
SUBMITTED = datetime(2026, 11, 10, 9, 30, tzinfo=timezone.utc)
SUBMITTER = "RR8"
PER_CASE = 300


@dataclass(frozen=True)
class Case:
    name: str
    refdata: bool
    v2: bool


CASES = (Case("v1-refdata", True, False), Case("v1-bare", False, False), Case("v2-refdata", True, True))


def entries() -> Iterator[dict[str, Any]]:
    """Every golden entry, read back."""
    with gzip.open(GOLDEN, "rt", encoding="utf-8") as lines:
        for line in lines:
            yield json.loads(line)
