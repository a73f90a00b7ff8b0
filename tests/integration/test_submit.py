"""`dids submit` against the real broker: rows then a manifest; idempotent ids; file rejects send no rows."""

from __future__ import annotations

import pytest

from dids.kernel import topics
from producers.extract.writer import write_csv, write_xml
from producers.generator import SimulationConfig, records
from producers.submit import SubmissionError, submit_file
from schemas.catalog import SUBMISSION_MANIFEST, default_catalog
from tests.clock import NOW
from tests.integration.helpers import poll
from tests.integration.kafka_tools import consume, consume_events


def test_csv_submission_rows_manifest_and_idempotent_resubmission(settings_factory, tmp_path):
    from dids.kernel.topics import ensure_topics

    settings = settings_factory()
    ensure_topics(settings)
    rows = list(records(SimulationConfig(seed=4, providers=2, invalid_rate=0.0), 300, NOW))
    path = tmp_path / "october.csv"
    write_csv(rows, path)

    first = submit_file(settings, path, period="2026-10", submitter="RR8", received=NOW)
    again = submit_file(settings, path, period="2026-10", submitter="RR8", received=NOW)
    assert first.status == again.status == "accepted"
    assert first.record_count == 300 and first.submission_id == again.submission_id

    catalog = default_catalog()
    events = consume_events(settings, 600)
    assert len(events) == 600
    # chunks, not one message a record: at most a chunk per partition per run for 300 records
    assert len(consume(settings, settings.topic(topics.RIS_EVENTS), 4)) == 4
    ids_by_run = {}
    for e in events:
        ids_by_run.setdefault(e["row_number"], set()).add(e["event_id"])
    assert sorted(ids_by_run) == list(range(1, 301))
    assert all(len(ids) == 1 for ids in ids_by_run.values())  # the same row gives the same event id
    first_row = next(e for e in events if e["row_number"] == 1)
    assert first_row["submission_id"] == first.submission_id and first_row["source"] == "extract"
    assert {k: first_row[k] for k in rows[0]} == rows[0]

    manifests = [
        catalog.decode(m.value(), SUBMISSION_MANIFEST) for m in consume(settings, settings.topic(topics.SUBMISSIONS), 4)
    ]
    # announced before its first row, accepted after its last
    assert [m["status"] for m in manifests] == ["publishing", "accepted"] * 2
    assert [m["record_count"] for m in manifests if m["status"] == "accepted"] == [300, 300]
    assert manifests[1]["period"] == "2026-10" and manifests[1]["file_format"] == "csv"


def test_file_reject_publishes_no_rows(settings_factory, tmp_path):
    from dids.kernel.topics import ensure_topics

    settings = settings_factory()
    ensure_topics(settings)
    rows = list(records(SimulationConfig(seed=5, providers=1, invalid_rate=0.0), 50, NOW))
    path = tmp_path / "bad.csv"
    write_csv(rows, path, line_end="\n")
    lines = path.read_text().splitlines()
    lines[40] += ",extra-column"  # physical line 41: 19 columns
    path.write_text("\n".join(lines) + "\n")

    result = submit_file(settings, path, period="2026-10", received=NOW)
    assert result.status == "rejected"
    assert (result.file_reject.code, result.file_reject.line) == ("DIDS075", 41)
    manifests = consume(settings, settings.topic(topics.SUBMISSIONS), 1)
    manifest = default_catalog().decode(manifests[0].value(), SUBMISSION_MANIFEST)
    assert (manifest["status"], manifest["file_reject_code"], manifest["record_count"]) == ("rejected", "DIDS075", 0)
    assert consume(settings, settings.topic(topics.RIS_EVENTS), 0, timeout=3) == []


def test_xml_submission(settings_factory, tmp_path):
    from dids.kernel.topics import ensure_topics

    settings = settings_factory()
    ensure_topics(settings)
    rows = list(records(SimulationConfig(seed=6, providers=1, invalid_rate=0.0), 40, NOW))
    path = tmp_path / "october.xml"
    write_xml(rows, path)
    result = submit_file(settings, path, period="2026-10", received=NOW)
    assert (result.status, result.record_count) == ("accepted", 40)
    decoded = sorted(consume_events(settings, 40), key=lambda e: e["row_number"])
    assert [e["radiological_accession_num"] for e in decoded] == [r["radiological_accession_num"] for r in rows]


def test_keys_repeated_in_a_file_are_flagged_for_dids071(settings_factory, tmp_path):
    from dids.kernel.topics import ensure_topics

    settings = settings_factory()
    ensure_topics(settings)
    rows = list(records(SimulationConfig(seed=7, providers=1, invalid_rate=0.0), 20, NOW))
    rows[15] = dict(
        rows[15],
        site_code_imaging=rows[3]["site_code_imaging"],
        radiological_accession_num=rows[3]["radiological_accession_num"],
    )
    path = tmp_path / "dups.csv"
    write_csv(rows, path)
    assert submit_file(settings, path, period="2026-10", received=NOW).record_count == 20
    events = consume_events(settings, 20)
    flagged = sorted(e["row_number"] for e in events if e["duplicate_in_submission"])
    assert flagged == [4, 16]


class _Killed(BaseException):
    """Stands for a submitter killed mid-file: nothing after it runs, not even an except Exception."""


@pytest.mark.parametrize("failure", ["error", "killed"])
def test_a_file_that_fails_part_way_leaves_no_current_rows(
    settings_factory, service_factory, tmp_path, failure, monkeypatch
):
    """Before, the rows published before the failure were current records of a file nobody accepted."""
    monkeypatch.setattr("producers.submit.CHUNK_EVENTS", 100)  # chunks do go out before the failure
    from dids.kernel.topics import ensure_topics
    from sinks.clickhouse import connect
    from sinks.migrate import migrate

    settings = settings_factory()
    ensure_topics(settings)
    migrate(settings)
    service_factory(settings, "streams", ready_port=settings.streams_metrics_port)
    service_factory(settings, "sink", ready_port=settings.sink_metrics_port)
    rows = list(records(SimulationConfig(seed=8, providers=1, invalid_rate=0.0), 2000, NOW))
    path = tmp_path / "big.csv"
    write_csv(rows, path)
    size = path.stat().st_size

    def fail_half_way(phase, done, total):
        if phase == "publishing" and done > size // 2:
            raise (_Killed() if failure == "killed" else OSError("disk went away"))

    with pytest.raises(SubmissionError if failure == "error" else _Killed):
        submit_file(settings, path, period="2026-10", received=NOW, progress=fail_half_way)
    client = connect(settings)
    status = "incomplete" if failure == "error" else "publishing"
    assert poll(lambda: client.command("SELECT any(status) FROM submissions FINAL"), status, 60) == status
    assert poll(lambda: client.command("SELECT count() FROM examinations FINAL") > 0, True, 60)
    published = client.command("SELECT count() FROM examinations FINAL")  # rows did reach the warehouse...
    assert client.command("SELECT count() FROM current_examinations") == 0  # ...and none of them counts
    print(f"\nsubmit {failure} part-way: {published}+ rows stored, 0 current, manifest {status}")


def test_chunks_go_where_single_events_of_the_same_key_go(settings_factory):
    """partition_of must be the producers' own partitioner, or a chunk's records would meet no state."""
    from dids.kernel.keys import partition_of
    from dids.kernel.producer import EventProducer
    from dids.kernel.topics import ensure_topics

    settings = settings_factory(topic_partitions=6)
    ensure_topics(settings)
    producer = EventProducer(settings)
    keys = [f"RR8{i:02d}|ACC-{i * 7919}".encode() for i in range(60)] + ["RAJ|é ✓".encode(), b"|", b"X|"]
    for key in keys:
        producer.send(settings.topic(topics.RIS_EVENTS), key=key, value=b"x")
    producer.flush()
    landed = {m.key(): m.partition() for m in consume(settings, settings.topic(topics.RIS_EVENTS), len(keys))}
    assert producer.partitions(settings.topic(topics.RIS_EVENTS)) == 6
    assert landed == {key: partition_of(key, 6) for key in keys}
    assert len(set(landed.values())) == 6
