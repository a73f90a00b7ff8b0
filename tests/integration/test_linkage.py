"""The cancer-registry linkage feed through the real pipeline (broker, stream worker, sink, warehouse):
with a linkage key the stream computes each record's linkage pseudonym, which `dids linkage` writes for
a month or since a day; a patient on the national data opt-out leaves the feed of an `apply` agreement
and stays in an exempt one; every run is audited; without a key the command says how to configure one;
the analyst cannot read the linkage table and the linkage account reads the feed only."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections import Counter

import polars as pl
import pytest

from dids.cli.local_stack import settings_env
from dids.kernel.nhs_number import is_valid_nhs_number, normalise_nhs_number
from dids.kernel.pseudonyms import Pseudonymiser
from dids.kernel.topics import changelog_spec, ensure_topics
from producers.generator import SimulationConfig
from producers.simulate import record_events, run_simulation
from sinks.clickhouse import DatabaseError, connect
from sinks.migrate import migrate
from tests.clock import NOW
from tests.integration.helpers import poll
from tests.integration.test_consent import KEY

N = 60
CONFIG = SimulationConfig(seed=43, providers=2, invalid_rate=0.0)


def dids(settings, *args):
    return subprocess.run(
        [sys.executable, "-m", "dids", *args],
        env=os.environ | settings_env(settings),
        capture_output=True,
        text=True,
        timeout=120,
    )


def write_agreement(tmp_path, name="ndrs.yaml", **fields):
    terms = {
        "recipient": "National Disease Registration Service",
        "reference": "NDRS-DIDS-2026",
        "purpose": "Cancer registration",
        "legal_basis": "Regulation 2 COPI; NHS England direction",
        "expires": "2099-12-31",
        "national_data_opt_out": "apply",
    } | fields
    path = tmp_path / name
    path.write_text("".join(f"{k}: {json.dumps(v)}\n" for k, v in terms.items()))
    return path


@pytest.fixture
def linkage_key(tmp_path) -> bytes:
    path = tmp_path / "linkage.key"
    path.write_text(secrets.token_hex(32) + "\n")
    path.chmod(0o600)
    return path


def test_the_registry_feed_links_without_nhs_numbers_and_honours_the_opt_out(
    settings_factory, service_factory, tmp_path, linkage_key
):
    settings = settings_factory(pseudonymisation_key=KEY, demo=0, linkage_key_file=str(linkage_key))
    ensure_topics(settings, extra=[changelog_spec(settings)])
    migrate(settings)
    service_factory(settings, "streams", ready_port=settings.streams_metrics_port)
    service_factory(settings, "sink", ready_port=settings.sink_metrics_port)
    run_simulation(settings, CONFIG, mode="records", count=N, now=NOW)
    client = connect(settings)
    assert poll(lambda: client.command("SELECT count() FROM current_examinations"), N, 120) == N

    # the registry hashes its own patients' NHS numbers with the shared key, and finds them in the feed
    registry = Pseudonymiser(linkage_key.read_bytes().strip())
    events = list(record_events(CONFIG, N, NOW))
    valid = [e["nhs_number"] for e in events if is_valid_nhs_number(normalise_nhs_number(e["nhs_number"]))]
    (nhs, _), *_ = Counter(normalise_nhs_number(n) for n in valid).most_common(1)
    patient = registry.person_id(nhs)
    month = client.command(
        "SELECT max(month) FROM linkage_feed WHERE linkage_id = {l:String}", parameters={"l": patient}
    )
    in_month = client.command(
        "SELECT count() FROM linkage_feed WHERE linkage_id = {l:String} AND month = {m:String}",
        parameters={"l": patient, "m": month},
    )
    assert in_month >= 1
    linked = client.command("SELECT count() FROM linkage_pseudonyms FINAL WHERE linkage_id IS NOT NULL")
    assert 0 < linked <= N
    stored = client.query("SELECT linkage_id FROM linkage_pseudonyms").result_rows
    assert all(r[0] is None or (len(r[0]) == 64 and r[0] != warehouse_person_id(nhs)) for r in stored)
    assert (
        client.command("SELECT count() FROM linkage_pseudonyms WHERE linkage_id = {n:String}", parameters={"n": nhs})
        == 0
    )

    terms = write_agreement(tmp_path)
    monthly = tmp_path / "monthly.parquet"
    run = dids(settings, "linkage", "--agreement", str(terms), "--month", month, "--out", str(monthly))
    assert run.returncode == 0, run.stdout + run.stderr
    feed = pl.read_parquet(monthly)
    assert feed.filter(pl.col("linkage_id") == patient).height == in_month
    assert "person_id" not in feed.columns and "accession_number" not in feed.columns
    assert nhs not in monthly.read_bytes().decode("latin-1")
    total = feed.height

    assert dids(settings, "optout", "add", nhs).returncode == 0
    assert poll(lambda: client.command("SELECT count() FROM opted_out_persons"), 1, 60) == 1
    after = tmp_path / "after.csv"
    run = dids(settings, "linkage", "--agreement", str(terms), "--month", month, "--out", str(after))
    assert run.returncode == 0, run.stderr
    feed = pl.read_csv(after)
    assert patient not in feed["linkage_id"].to_list() and feed.height == total - in_month
    manifest = json.loads((tmp_path / "after.csv.manifest.json").read_text())
    assert manifest["records_left_out_by_opt_out"] == in_month and manifest["kind"] == "linkage"

    exempt = write_agreement(tmp_path, "exempt.yaml", national_data_opt_out="exempt")
    run = dids(settings, "linkage", "--agreement", str(exempt), "--month", month, "--out", str(tmp_path / "ex.parquet"))
    assert run.returncode == 0, run.stderr
    assert pl.read_parquet(tmp_path / "ex.parquet").filter(pl.col("linkage_id") == patient).height == in_month

    # a daily run: everything received since a day before the records arrived, less the opted-out patient
    since = client.command("SELECT toString(toDate(min(received_time)))  FROM current_examinations")
    run = dids(settings, "linkage", "--agreement", str(terms), "--since", since, "--out", str(tmp_path / "d.parquet"))
    assert run.returncode == 0, run.stderr
    daily = pl.read_parquet(tmp_path / "d.parquet")
    assert patient not in daily["linkage_id"].to_list()
    assert daily.height == client.command("SELECT count() FROM linkage_feed WHERE NOT opted_out")

    audit = client.query(
        "SELECT national_data_opt_out, months, since, rows, opted_out_left_out FROM dissemination_audit "
        "WHERE kind = 'linkage' ORDER BY run_time"
    ).result_rows
    assert [(r[0], r[1], r[3], r[4]) for r in audit] == [
        ("apply", [month], total, 0),
        ("apply", [month], total - in_month, in_month),
        ("exempt", [month], total, 0),
        ("apply", [], daily.height, audit[3][4]),
    ]
    assert str(audit[3][2]) == since


def warehouse_person_id(nhs: str) -> str:
    """The warehouse's own person_id of a number: never the linkage pseudonym."""
    return Pseudonymiser(KEY.encode()).person_id(nhs)


def test_without_a_linkage_key_the_command_says_how_to_configure_one(settings_factory, tmp_path):
    settings = settings_factory()
    out = tmp_path / "feed.parquet"
    run = dids(
        settings, "linkage", "--agreement", str(write_agreement(tmp_path)), "--month", "2026-10", "--out", str(out)
    )
    assert run.returncode == 1
    assert "no linkage key is configured" in run.stderr and "DIDS_LINKAGE_KEY_FILE" in run.stderr
    assert "secrets.token_hex(32)" in run.stderr and not out.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--month", "2026-13"], "a month is YYYY-MM"),
        (["--since", "2026-11-3"], "a day is YYYY-MM-DD"),
        (["--since", "0001-01-01"], "a day is YYYY-MM-DD"),
        (["--month", "2026-10", "--since", "2026-11-03"], "give one of --month"),
        ([], "give one of --month"),
    ],
)
def test_bad_windows_are_refused(settings_factory, tmp_path, linkage_key, args, message):
    settings = settings_factory(linkage_key_file=str(linkage_key))
    out = tmp_path / "feed.parquet"
    run = dids(settings, "linkage", "--agreement", str(write_agreement(tmp_path)), *args, "--out", str(out))
    assert run.returncode == 2 and message in run.stderr and not out.exists()


def test_a_linkage_agreement_names_no_columns_and_a_bad_key_is_refused(settings_factory, tmp_path, linkage_key):
    settings = settings_factory(linkage_key_file=str(linkage_key))
    terms = write_agreement(tmp_path, columns=["nhs_number"])
    run = dids(settings, "linkage", "--agreement", str(terms), "--month", "2026-10", "--out", str(tmp_path / "f.csv"))
    assert run.returncode == 2 and "a linkage agreement names no columns or months" in run.stderr
    linkage_key.chmod(0o644)
    run = dids(
        settings,
        "linkage",
        "--agreement",
        str(write_agreement(tmp_path)),
        "--month",
        "2026-10",
        "--out",
        str(tmp_path / "f.csv"),
    )
    assert run.returncode == 2 and "chmod 600" in run.stderr


def test_only_the_linkage_account_reads_the_feed(settings_factory, tmp_path):
    """On a warehouse of its own with a linkage account: the analyst reads neither linkage table; the
    linkage account reads the feed and nothing else, and changes nothing."""
    from deploy.warehouse.process import start_warehouse
    from dids.kernel.ports import free_port

    settings = settings_factory()
    wh = start_warehouse(
        tmp_path / "wh",
        free_port(),
        tmp_path / "wh.log",
        admin_password="admin-secret",
        linkage_password="linkage-secret",
        database=settings.clickhouse_database,
    )
    try:
        settings = settings.with_(clickhouse_url=wh.url, clickhouse_password="admin-secret")
        migrate(settings)
        admin = connect(settings)
        admin.command("INSERT INTO linkage_pseudonyms (record_key, version, linkage_id) VALUES ('RAA01|A1', 1, 'x')")
        analyst = connect(settings, user="analyst", password="analyst")
        for query in (
            "SELECT count() FROM linkage_pseudonyms",
            "SELECT count() FROM linkage_feed",
            f"SELECT count() FROM {settings.clickhouse_database}.linkage_pseudonyms",
            "SELECT count() FROM (SELECT * FROM linkage_pseudonyms)",
            "SELECT linkage_id FROM analyst_examinations AS a JOIN linkage_pseudonyms AS l USING (record_key)",
        ):
            with pytest.raises(DatabaseError) as refused:
                analyst.command(query)
            assert refused.value.code == 497, (query, refused.value)
        linkage = connect(settings, user="linkage", password="linkage-secret")
        assert linkage.command("SELECT count() FROM linkage_feed") == 0
        for query in (
            "SELECT count() FROM linkage_pseudonyms",
            "SELECT count() FROM analyst_examinations",
            "SELECT count() FROM examinations",
            "SELECT count() FROM opted_out_persons",
            "INSERT INTO linkage_pseudonyms (record_key, version) VALUES ('forged', 9)",
            "ALTER TABLE linkage_pseudonyms DELETE WHERE 1",
            "DROP TABLE linkage_pseudonyms",
        ):
            with pytest.raises(DatabaseError) as refused:
                linkage.command(query)
            assert refused.value.code in (164, 497), (query, refused.value)
        with pytest.raises(DatabaseError) as refused:
            connect(settings, user="linkage", password="wrong")
        assert refused.value.code == 516
        assert admin.command("SELECT count() FROM linkage_pseudonyms") == 1
    finally:
        wh.stop()
