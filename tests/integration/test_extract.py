"""Approved extracts against the real broker and warehouse (`dids extract`, as a data manager runs it):
the national data opt-out takes a patient out of a new extract of an `apply` agreement while the
statistics still count them; an exempt agreement keeps them; two recipients' pseudonyms for one patient
differ; refusals write nothing and audit nothing; every run is an audit row the analyst can read and
not change."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from datetime import date

import polars as pl
import pytest

from dids.cli.local_stack import settings_env
from dids.kernel.pseudonyms import Pseudonymiser
from dids.kernel.topics import ensure_topics
from sinks.clickhouse import DatabaseError, connect
from tests.integration.helpers import poll
from tests.integration.rows import CT, exam, migrated
from tests.integration.test_consent import KEY

P, Q = "9434765919", "4010232137"  # two patients (valid NHS numbers)
PSEUDO = Pseudonymiser(KEY.encode())
OCT, SEP = date(2026, 10, 12), date(2026, 9, 20)


def rows():
    p, q = PSEUDO.person_id(P), PSEUDO.person_id(Q)
    return (
        [exam(f"P{i}", modality=CT, person_id=p) for i in range(3)]  # P: three CTs at RAA in October
        + [exam("P9", test_date=SEP, person_id=p)]  # and one in September, outside the agreement
        + [exam(f"Q{i}", provider="RBB", person_id=q) for i in range(2)]
        + [exam(f"N{i}", provider="RBB", modality=CT) for i in range(4)]  # no valid NHS number: no person
        + [exam("R1", person_id="U0000001", restricted=True)]  # a restricted code's placeholder
        + [exam(f"F{i}", provider_name='=HYPERLINK("http://x")', provider="RCC") for i in range(2)]
    )


def agreement(tmp_path, name="a.yaml", **fields):
    terms = {
        "recipient": "University of Example",
        "reference": "DARS-NIC-123456-ABCDE",
        "purpose": "CT waiting times",
        "legal_basis": "UK GDPR 6(1)(e) and 9(2)(j)",
        "expires": "2099-12-31",
        "columns": ["person_id", "provider_code", "modality", "diagnostic_test_date"],
        "months": ["2026-10"],
        "national_data_opt_out": "apply",
    } | fields
    path = tmp_path / name
    path.write_text("\n".join(f"{k}: {json.dumps(v)}" for k, v in terms.items() if v is not None) + "\n")
    return path


def dids(settings, *args):
    return subprocess.run(
        [sys.executable, "-m", "dids", *args],
        env=os.environ | settings_env(settings),
        capture_output=True,
        text=True,
        timeout=120,
    )


def extract(settings, terms, out):
    result = dids(settings, "extract", "--agreement", str(terms), "--out", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(out.with_name(out.name + ".manifest.json").read_text())


def seed(factory):
    settings = factory(pseudonymisation_key=KEY, demo=0)
    ensure_topics(settings)
    migrated(settings).put("examinations", rows())
    return settings


@pytest.fixture
def seeded(settings_factory):
    return seed(settings_factory)


@pytest.fixture(scope="module")
def seeded_once(module_settings_factory):
    """Seeded once for the refusals: each writes nothing and audits nothing (and checks it)."""
    return seed(module_settings_factory)


@pytest.fixture
def stack(seeded, service_factory):
    service_factory(seeded, "sink", ready_port=seeded.sink_metrics_port)
    return seeded


def counted(client):
    """October's tests in the internal and the published statistics."""
    stats = "SELECT tests FROM {v} WHERE source = 'live' AND month = '2026-10' AND modality = 'Total'"
    return (
        client.command(stats.format(v="stats_activity_by_modality")),
        client.command(stats.format(v="pub_activity_by_modality")),
        client.command(
            "SELECT sum(tests) FROM stats_provider_modality_month WHERE source = 'live' AND month = '2026-10'"
        ),
    )


def test_an_opted_out_patient_leaves_new_extracts_but_not_the_statistics(stack, tmp_path):
    client = connect(stack)
    terms = agreement(tmp_path)
    first = tmp_path / "first.parquet"
    manifest = extract(stack, terms, first)
    frame = pl.read_parquet(first)
    assert frame.columns == ["person_id", "provider_code", "modality", "diagnostic_test_date"]
    assert frame.height == 12 == manifest["rows"]  # October: 3 P, 2 Q, 4 without a person, 1 restricted, 2 RCC
    assert manifest["records_left_out_by_opt_out"] == 0
    assert manifest["sha256"] == hashlib.sha256(first.read_bytes()).hexdigest()
    assert oct(first.stat().st_mode & 0o777) == "0o600"
    pseudonyms = frame["person_id"].value_counts().sort("count")
    assert sorted(pseudonyms["count"].to_list()) == [2, 3, 7]  # P, Q, and 7 rows with no person (null)
    assert PSEUDO.person_id(P) not in frame["person_id"].to_list()  # never the warehouse's own pseudonym
    p_in_a = frame.filter(pl.col("provider_code") == "RAA").filter(pl.col("modality") == CT)["person_id"][0]
    before = counted(client)
    assert before == (12, 12, 12)

    added = dids(stack, "optout", "add", P)
    assert added.returncode == 0, added.stderr
    assert poll(lambda: client.command("SELECT count() FROM opted_out_persons"), 1, 60) == 1

    second = tmp_path / "second.parquet"
    manifest = extract(stack, terms, second)
    frame = pl.read_parquet(second)
    assert frame.height == 9 == manifest["rows"] and manifest["records_left_out_by_opt_out"] == 3
    assert p_in_a not in frame["person_id"].to_list()
    assert counted(client) == before  # the warehouse keeps the records and the statistics count them
    held = "SELECT count() FROM analyst_examinations WHERE person_id = {p:String}"
    assert client.command(held, parameters={"p": PSEUDO.person_id(P)}) == 4  # October's three and September's

    # exempt, with its legal basis: the opted-out patient is in
    exempt = agreement(tmp_path, "exempt.yaml", national_data_opt_out="exempt", legal_basis="s251 CAG 17/CAG/0001")
    manifest = extract(stack, exempt, tmp_path / "exempt.parquet")
    assert manifest["rows"] == 12 and manifest["agreement"]["national_data_opt_out"] == "exempt"
    assert pl.read_parquet(tmp_path / "exempt.parquet")["person_id"].to_list().count(p_in_a) == 3

    # another recipient: Q's pseudonym differs from the first recipient's; the same recipient's does not
    q_in_a = frame.filter(pl.col("provider_code") == "RBB").drop_nulls("person_id")["person_id"][0]
    other = agreement(tmp_path, "b.yaml", recipient="NDRS", reference="NDRS-2026-11", providers=["RBB"])
    manifest = extract(stack, other, tmp_path / "b.csv")
    table = pl.read_csv(tmp_path / "b.csv")
    q_in_b = table.drop_nulls("person_id")["person_id"].unique().to_list()
    assert len(q_in_b) == 1 and q_in_b[0] != q_in_a and len(q_in_a) == 64 == len(q_in_b[0])
    assert table.height == 6 == manifest["rows"]  # RBB only: Q's 2 and 4 without a person

    audit = client.query(
        "SELECT reference, national_data_opt_out, rows, opted_out_left_out, file_name, file_sha256 "
        "FROM dissemination_audit WHERE kind = 'extract' ORDER BY run_time"
    ).result_rows
    assert [(r[0], r[1], r[2], r[3], r[4]) for r in audit] == [
        ("DARS-NIC-123456-ABCDE", "apply", 12, 0, "first.parquet"),
        ("DARS-NIC-123456-ABCDE", "apply", 9, 3, "second.parquet"),
        ("DARS-NIC-123456-ABCDE", "exempt", 12, 0, "exempt.parquet"),
        ("NDRS-2026-11", "apply", 6, 0, "b.csv"),
    ]
    assert audit[1][5] == hashlib.sha256(second.read_bytes()).hexdigest()


def test_csv_cells_a_spreadsheet_would_run_are_made_inert(stack, tmp_path):
    terms = agreement(tmp_path, columns=["provider_code", "provider_name"], providers=["RCC"])
    extract(stack, terms, tmp_path / "rcc.csv")
    lines = (tmp_path / "rcc.csv").read_text().splitlines()
    assert lines[0] == "provider_code,provider_name"
    assert lines[1:] == ['RCC,"\'=HYPERLINK(""http://x"")"'] * 2


@pytest.mark.parametrize(
    ("fields", "out", "message"),
    [
        ({"national_data_opt_out": "exempt", "legal_basis": None}, "x.parquet", "exempt needs a legal_basis"),
        ({"columns": ["provider_code", "flags"]}, "x.parquet", "flags is not on the published allow-list"),
        ({"columns": ["nhs_number"]}, "x.parquet", "nhs_number is an identifier"),
        ({"expires": "2020-01-31"}, "x.parquet", "expired on 2020-01-31"),
        ({"months": "1990-01..2099-12"}, "x.parquet", "at most 120 in one extract"),
        ({}, "x.xlsx", "name the file .parquet or .csv"),
        ({}, "no-such-folder/x.csv", "does not exist"),
        ({}, "EXISTING", "already exists: a release is never written over another"),
        ({}, "LINK", "already exists"),
        ({}, "DIR", "already exists"),
        ({}, "bad\nname.csv", "control characters"),
        ({}, ".hidden.csv", "a hidden file name"),
    ],
)
def test_refused_extracts_write_nothing_and_audit_nothing(seeded_once, tmp_path, fields, out, message):
    terms = agreement(tmp_path, **fields)
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "existing.csv").write_text("keep me\n")
    (folder / "target.csv").write_text("keep me too\n")
    (folder / "link.csv").symlink_to(folder / "target.csv")
    (folder / "dir.parquet").mkdir()
    named = {"EXISTING": "existing.csv", "LINK": "link.csv", "DIR": "dir.parquet"}.get(out, out)
    before = set(folder.rglob("*"))
    result = dids(seeded_once, "extract", "--agreement", str(terms), "--out", str(folder / named))
    assert result.returncode != 0
    assert message in result.stderr and "Traceback" not in result.stderr
    assert set(folder.rglob("*")) == before
    assert (folder / "existing.csv").read_text() == "keep me\n"
    assert (folder / "target.csv").read_text() == "keep me too\n"
    assert connect(seeded_once).command("SELECT count() FROM dissemination_audit") == 0


def test_an_extract_waits_for_opt_outs_still_on_their_way(seeded, tmp_path):
    settings = seeded
    assert dids(settings, "optout", "add", P).returncode == 0  # no sink runs: the change stays on the topic
    result = dids(settings, "extract", "--agreement", str(agreement(tmp_path)), "--out", str(tmp_path / "x.parquet"))
    assert result.returncode == 1
    assert "1 opt-out change(s) are on dids.optout but not in the warehouse yet" in result.stderr
    assert not (tmp_path / "x.parquet").exists()


def test_the_analyst_reads_the_audit_and_cannot_change_it(settings_factory, tmp_path):
    """On a warehouse of its own, serving the test's database (the analyst reads that database only)."""
    from deploy.warehouse.process import start_warehouse
    from dids.kernel.ports import free_port

    settings = settings_factory()
    wh = start_warehouse(
        tmp_path / "wh",
        free_port(),
        tmp_path / "wh.log",
        admin_password="admin-secret",
        database=settings.clickhouse_database,
    )
    try:
        settings = settings.with_(clickhouse_url=wh.url, clickhouse_password="admin-secret")
        admin = migrated(settings)
        admin.command("INSERT INTO dissemination_audit (run_id, kind, reference) VALUES ('r1', 'extract', 'DARS-1')")
        analyst = connect(settings, user="analyst", password="analyst")
        assert analyst.command("SELECT reference FROM dissemination_audit") == "DARS-1"
        attempts = [
            "INSERT INTO dissemination_audit (run_id, kind) VALUES ('forged', 'extract')",
            "ALTER TABLE dissemination_audit DELETE WHERE 1",
            "ALTER TABLE dissemination_audit UPDATE reference = 'x' WHERE 1",
            "ALTER TABLE dissemination_audit DROP COLUMN reference",
            "DELETE FROM dissemination_audit WHERE 1",
            "TRUNCATE TABLE dissemination_audit",
            "DROP TABLE dissemination_audit",
            "RENAME TABLE dissemination_audit TO gone",
            "OPTIMIZE TABLE dissemination_audit FINAL",
        ]
        for attempt in attempts:
            with pytest.raises(DatabaseError) as refused:
                analyst.command(attempt)
            assert refused.value.code in (164, 497), (attempt, refused.value)
        with pytest.raises(DatabaseError):
            analyst.insert("dissemination_audit", [["forged", "extract"]], column_names=["run_id", "kind"])
        assert admin.query("SELECT run_id, reference FROM dissemination_audit").result_rows == [("r1", "DARS-1")]
        # nor does the opt-out list belong to what an analyst reads
        with pytest.raises(DatabaseError) as refused:
            analyst.command("SELECT count() FROM optout_changes")
        assert refused.value.code == 497
    finally:
        wh.stop()
