"""`dids bench` runs end to end on a small extract and prints the JSON it promises, with counts that add up."""

from __future__ import annotations

import json
import subprocess
import sys


def test_bench_prints_measurements_that_add_up(broker, tmp_path):  # broker: the Kafka jars are fetched
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "dids",
            "bench",
            "--records",
            "2000",
            "--rate",
            "200",
            "--freshness-seconds",
            "3",
            "--ceiling-events",
            "2000",
            "--validate-records",
            "1500",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout)
    assert json.loads(out.read_text()) == result
    pipeline = result["pipeline"]
    assert pipeline["published"] == 2000
    assert pipeline["accepted_rows"] + pipeline["rejected_rows"] == 2000
    assert pipeline["events_per_s"] > 0
    assert result["freshness"]["events"] == 600 and result["freshness"]["freshness_p99_s"] > 0
    ceilings = result["ceilings"]
    assert min(ceilings["avro"]["avro_encode_per_s"], ceilings["avro"]["avro_decode_per_s"]) > 0
    assert ceilings["consumer"]["events"] >= 2000 and ceilings["clickhouse_insert"]["rows"] == 200_000
    assert set(result["peak_rss_mb"]) >= {"kafka", "warehouse", "streams", "sink"}
    assert all(v > 0 for v in result["peak_rss_mb"].values())
    assert set(pipeline["cpu_seconds"]) >= {"kafka", "warehouse", "streams", "sink", "bench"}
    assert set(result["ratios"]) == {"pipeline_to_avro_decode", "pipeline_to_consumer", "pipeline_to_clickhouse_insert"}
    assert result["validate"]["records"] == 1500 and result["validate"]["records_per_s"] > 0
    assert result["validate"]["accepted"] + result["validate"]["rejected"] == 1500
    assert all(isinstance(met, bool) for met in result["targets"].values()) and len(result["targets"]) == 5
    assert "avro ceilings" in proc.stderr  # progress on stderr, JSON alone on stdout
