"""Compare the columnar engine with the per-record engine on many simulated records (issue: columnar core).

``python -m tests.golden.compare --records 200000`` generates records breaking every rule the simulator
can break (v1 and v2, with the sample reference data, local codes and restricted codes mixed in),
judges them with both engines - verdict, rule codes with severity and fields, not-checked list, every
derived national column, AGE_AT_EVENT, the restricted flag and the local code - and prints a JSON line:
records compared, differences (with the first few), and each engine's records/s on this machine.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from datetime import datetime, timezone

import polars as pl

from streams.cleanse import cleanse
from streams.columnar.cleansing import raw_frame
from streams.columnar.derivations import derive
from streams.columnar.engine import Options, failures, outcome, prepare, with_metadata
from streams.derive import DeriveContext, derive_all, map_local_code
from streams.derive.national import NATIONAL_COLUMNS
from streams.refdata.loaders import load_samples
from streams.rules import check
from streams.rules.context import context_for
from tests.golden.engine import _v2_items

SUBMITTED = datetime(2026, 11, 10, 9, 30, tzinfo=timezone.utc)


def inputs(n: int, seed: int) -> list[tuple[dict, bool, str]]:
    from producers.breakage import SUPPORTED_RULES
    from producers.generator import SimulationConfig, records

    config = SimulationConfig(
        seed=seed, providers=8, invalid_rate=0.3, break_rules=SUPPORTED_RULES, restricted_rate=0.02
    )
    rng = random.Random(seed)
    out = []
    for row in records(config, n, SUBMITTED):
        row = dict(row)
        submitter = "RR8"
        if rng.random() < 0.02:  # a local exam code from a submitter with a local-code map
            submitter, row["imaging_code_nicip"] = "RXX", rng.choice(["XCHESTPA", "xchestpa", "UNMAPPED"])
        if rng.random() < 0.5:
            row.update(_v2_items(row, rng))
        out.append((row, rng.random() < 0.01, submitter))
    return out


def per_record(rows, refdata) -> list[dict]:
    judged = []
    for items, duplicate, submitter in rows:
        context = context_for(items, submission_time=SUBMITTED, refdata=refdata)
        derive_context = DeriveContext(refdata=refdata, submitter_org=submitter, grace=context.grace)
        mapped = map_local_code(cleanse(items), derive_context)
        result = check(mapped.record, context, duplicate=duplicate)
        derivation = derive_all(mapped.record, derive_context)
        judged.append(
            {
                "accepted": result.accepted,
                "rejects": result.rejects,
                "warnings": result.warnings,
                "not_checked": result.not_checked,
                "failures": [(f.code, f.severity.name, f.fields) for f in result.failures],
                "derived": derivation.national,
                "age_at_event": derivation.age_at_event,
                "restricted": derivation.restricted,
                "local_code": mapped.local_code,
            }
        )
    return judged


def columnar(rows, refdata) -> list[dict]:
    raw = raw_frame([items for items, _, _ in rows]).with_columns(
        pl.lit(int(SUBMITTED.timestamp() * 1000)).alias("submitted_ms"),
        pl.Series("duplicate", [d for _, d, _ in rows]),
        pl.Series("submitter_org", [s for _, _, s in rows]),
    )
    options = Options(refdata=refdata)
    frame = prepare(with_metadata(raw), options)
    judged = outcome(frame, options)
    derived = derive(frame, options)
    extra = derived.select("age_at_event", "restricted", "local_code").iter_rows(named=True)
    return [
        {
            "accepted": row["accepted"],
            "rejects": row["rejects"],
            "warnings": row["warnings"],
            "not_checked": row["not_checked"],
            "failures": failures(row),
            "derived": national,
            **more,
        }
        for row, national, more in zip(
            judged.iter_rows(named=True), derived.select(NATIONAL_COLUMNS).iter_rows(named=True), extra, strict=True
        )
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    refdata = load_samples()
    rows = inputs(args.records, args.seed)
    report: dict = {"records": len(rows), "differences": 0, "first": []}
    for label, tables in (("refdata", refdata), ("bare", None)):
        started = time.perf_counter()
        old = per_record(rows, tables)
        old_s = time.perf_counter() - started
        started = time.perf_counter()
        new = columnar(rows, tables)
        new_s = time.perf_counter() - started
        report[label] = {"per_record_per_s": round(len(rows) / old_s), "columnar_per_s": round(len(rows) / new_s)}
        for index, (a, b) in enumerate(zip(old, new, strict=True)):
            if a != b:
                report["differences"] += 1
                if len(report["first"]) < 5:
                    report["first"].append(
                        {"case": label, "index": index, **{k: (a[k], b[k]) for k in a if a[k] != b[k]}}
                    )
    print(json.dumps(report, default=str))


if __name__ == "__main__":
    main()
