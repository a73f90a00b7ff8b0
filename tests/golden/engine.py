"""Golden outputs of the national rules and derivations, the proof of sameness for any new engine.

``python -m tests.golden.engine --write`` ran once, with the per-record engine of the time, and wrote
``engine.jsonl.gz``: simulated records breaking every rule the simulator can break, with and without
reference data, as v1 and as v2 records (with timestamps), and for each the verdict, the rule codes
with severity and fields, the not-checked list and every derived national column. The test
(``tests/unit/streams/test_golden.py``) replays the inputs through today's engine and compares. The
file is never rewritten by a new engine: a difference is a change of behaviour to explain.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from streams.cleanse import cleanse
from streams.derive import DeriveContext, derive, map_local_code
from streams.refdata.loaders import load_samples
from streams.rules import check
from streams.rules.context import context_for

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


def judge(items: dict[str, Any], duplicate: bool, refdata) -> dict[str, Any]:
    """What today's engine says of one submitted record: the one check path, then the derivations."""
    context = context_for(items, submission_time=SUBMITTED, refdata=refdata)
    derive_context = DeriveContext(refdata=refdata, submitter_org=SUBMITTER, grace=context.grace)
    record = map_local_code(cleanse(items), derive_context).record
    outcome = check(record, context, duplicate=duplicate)
    derived = {k: _plain(v) for k, v in derive(record, derive_context).items() if v is not None}
    return {
        "accepted": outcome.accepted,
        "rejects": outcome.rejects,
        "warnings": outcome.warnings,
        "not_checked": outcome.not_checked,
        "failures": [[f.code, f.severity.name, list(f.fields)] for f in outcome.failures],
        "derived": derived,
    }


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def entries() -> Iterator[dict[str, Any]]:
    """Every golden entry, read back."""
    with gzip.open(GOLDEN, "rt", encoding="utf-8") as lines:
        for line in lines:
            yield json.loads(line)


def _inputs(case: Case, seed: int) -> list[tuple[dict[str, Any], bool]]:
    from producers.breakage import SUPPORTED_RULES
    from producers.generator import SimulationConfig, records

    config = SimulationConfig(
        seed=seed, providers=4, invalid_rate=0.7, break_rules=SUPPORTED_RULES, restricted_rate=0.05
    )
    rows = [dict(r) for r in records(config, PER_CASE, SUBMITTED)]
    rng = random.Random(seed)
    for index in rng.sample(range(1, len(rows)), 6):  # DIDS071: a few keys repeated in the submission
        rows[index].update(site_code_imaging=rows[0]["site_code_imaging"], radiological_accession_num="DUP-1")
    rows[0]["radiological_accession_num"] = "DUP-1"
    if case.v2:
        for row in rows:
            row.update(_v2_items(row, rng))
    keys = [
        (r["site_code_imaging"] or "").strip() + "|" + (r["radiological_accession_num"] or "").strip() for r in rows
    ]
    return [(row, keys.count(key) > 1 and "|" not in (key[0], key[-1])) for row, key in zip(rows, keys, strict=True)]


def _v2_items(row: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """The v2.0 items as a RIS would send them, with a share of odd and malformed timestamps."""
    test = row.get("diagnostic_test_date") or ""
    offset = rng.choice(["+01:00", "+00:00", "Z", "+02:00"])  # +02:00 is not a UK offset
    stamp = f"{test}T{rng.randrange(7, 20):02d}:{rng.randrange(60):02d}:00{offset}" if len(test) == 10 else test
    return {
        "coded_procedure_start_timestamp": stamp or None,
        "coded_procedure_end_timestamp": stamp.replace(":00" + offset, ":30" + offset, 1) if stamp else None,
        "service_report_issue_timestamp": None if rng.random() < 0.3 else stamp or None,
        "service_request_priority_type": rng.choice([None, "1", "2", "3", "9"]),
        "diagnostic_imaging_activity_category": rng.choice([None, "1", "2", "X"]),
        "diagnostic_imaging_waiting_list_clock_start_date": row.get("diagnostic_test_request_date"),
    }


def write() -> int:
    refdata = load_samples()
    count = 0
    with gzip.open(GOLDEN, "wt", encoding="utf-8", compresslevel=9) as out:
        for seed, case in enumerate(CASES, start=71):
            for items, duplicate in _inputs(case, seed):
                judged = judge(items, duplicate, refdata if case.refdata else None)
                entry = {"case": case.name, "items": items, "duplicate": duplicate, **judged}
                out.write(json.dumps(entry, sort_keys=True, separators=(",", ":")) + "\n")
                count += 1
    return count


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="(re)write engine.jsonl.gz with today's engine")
    if parser.parse_args().write:
        print(f"wrote {write()} golden entries to {GOLDEN}")
