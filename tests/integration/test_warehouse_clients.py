"""The client matrix: the ClickHouse clients analysts' tools are built on, each fetched the ordinary way
(tests/clients/build.py) and run on its default settings against the real `dids warehouse` with the
DIDS migrations applied, as the admin (writes and reads back a table of its own) and as the read-only
analyst (metadata, queries):

* the official JDBC driver 0.10.0 (DBeaver, Metabase, Superset's JDBC route, Tableau), default URL
  ``jdbc:clickhouse://127.0.0.1:PORT/dids``: it asks for ClickHouse's native compression (compress=1);
* clickhouse-go v2 over HTTP (Grafana's ClickHouse plugin), with no compression and with LZ4 and ZSTD;
* the official JavaScript client @clickhouse/client;
* clickhouse-connect (notebooks, Superset's native route): also tests/integration/test_warehouse.py.

Each check program prints ``key=value`` lines; the expected values are computed here.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import clickhouse_connect
import pytest

from deploy.warehouse.process import start_warehouse
from dids.kernel.ports import free_port
from dids.kernel.settings import Settings
from sinks.migrate import migrate
from tests.clients import build

pytestmark = pytest.mark.integration

ADMIN = ("default", "admin-secret-for-client-tests")
ANALYST = ("analyst", "analyst-secret-for-client-tests")
DATABASE = "dids"
EXPECTED_COMMON = {
    "query": "499500/1000",
    "select_date": "2024-02-29",
}


@pytest.fixture(scope="module")
def wh(tmp_path_factory):
    d = tmp_path_factory.mktemp("warehouse")
    w = start_warehouse(
        d / "data",
        free_port(),
        d / "warehouse.log",
        admin_password=ADMIN[1],
        analyst_user=ANALYST[0],
        analyst_password=ANALYST[1],
    )
    migrate(Settings(home=d / "home", clickhouse_url=w.url, clickhouse_database=DATABASE, clickhouse_password=ADMIN[1]))
    yield w
    w.stop()


@pytest.fixture(scope="module")
def dids_tables(wh):
    admin = clickhouse_connect.get_client(host=wh.host, port=wh.port, username=ADMIN[0], password=ADMIN[1])
    names = admin.query("SELECT name FROM system.tables WHERE database = {d:String}", parameters={"d": DATABASE})
    return sorted(row[0] for row in names.result_rows)


def run(cmd: list[str], password: str, cwd=None) -> dict[str, list[str]]:
    """The ``key=value`` lines of one check program (a key may repeat: rows)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIDS_")}
    env["DIDS_CHECK_PASSWORD"] = password
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    facts: dict[str, list[str]] = {}
    for line in result.stdout.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            facts.setdefault(key, []).append(value)
    assert result.returncode == 0 and "error" not in facts, (result.stdout + result.stderr)[-4000:]
    return facts


def one(facts: dict[str, list[str]]) -> dict[str, str]:
    return {key: values[-1] for key, values in facts.items()}


# --- JDBC ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def jdbc():
    return build.jdbc()


def test_jdbc_driver_admin_on_its_default_url(wh, jdbc, dids_tables):
    classpath, source = jdbc
    url = f"jdbc:clickhouse://{wh.host}:{wh.port}/{DATABASE}"
    facts = run(["java", "-cp", classpath, str(source), url, ADMIN[0], "admin"], ADMIN[1])
    got = one(facts)
    assert got["driver"] == "ClickHouse JDBC Driver 0.10.0" and got["product"] == "ClickHouse"
    assert got["catalog_or_schema"] == DATABASE
    assert sorted(got["table_names"].strip(",").split(",")) == dids_tables and int(got["tables"]) == len(dids_tables)
    assert {k: got[k] for k in EXPECTED_COMMON} == EXPECTED_COMMON
    assert got["prepared"] == "0,7,14,"
    assert got["select_date"] == "2024-02-29"  # rs.getDate: a java.sql.Date of that day, in any time zone
    assert got["select_date_class"] == "java.sql.Date"
    assert got["select_nullable"] == "null/true/0.0/2.5"
    assert got["batch"] == "2"
    assert facts["row"] == ["1|2024-02-29|1.5|false|one", "2|1999-12-31|null|true|null"]
    assert got["columns"] == "id:UInt32:0,day:Date:0,v:Nullable(Float64):1,s:Nullable(String):1,"
    assert got["done"] == "admin"


def test_jdbc_driver_as_the_read_only_analyst(wh, jdbc, dids_tables):
    classpath, source = jdbc
    url = f"jdbc:clickhouse://{wh.host}:{wh.port}/{DATABASE}"
    got = one(run(["java", "-cp", classpath, str(source), url, ANALYST[0], "analyst"], ANALYST[1]))
    # metadata lists what system.tables lists (names only); the analyst reads the analyst views alone
    assert sorted(got["table_names"].strip(",").split(",")) == dids_tables
    assert {k: got[k] for k in EXPECTED_COMMON} == EXPECTED_COMMON
    assert (got["prepared"], got["select_nullable"]) == ("0,7,14,", "null/true/0.0/2.5")
    # an error reaches the tool's user whole and readable, with its code and name
    assert got["refused"].startswith("Code: 497. DB::Exception: table function file is not available to this account.")
    assert "(ACCESS_DENIED)" in got["refused"]


# --- clickhouse-go (Grafana) -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def gocheck():
    return build.go()


@pytest.mark.parametrize("mode", ["default", "lz4", "zstd"])
def test_clickhouse_go_over_http(wh, gocheck, mode):
    facts = run([str(gocheck), f"{wh.host}:{wh.port}", ADMIN[0], mode], ADMIN[1])
    got = one(facts)
    assert {k: got[k] for k in EXPECTED_COMMON} == EXPECTED_COMMON
    assert (got["select_nullable"], got["bound"]) == ("true/2.5", "0,7,14,")
    assert facts["row"] == ["1|2024-02-29|1.5", "2|1999-12-31|null"]
    assert "table function file is not available to this account" in got["refused"]
    assert "[HTTP 403] code: 497" in got["refused"] and "(ACCESS_DENIED)" in got["refused"]
    assert got["done"] == mode


def test_clickhouse_go_as_the_read_only_analyst(wh, gocheck):
    got = one(run([str(gocheck), f"{wh.host}:{wh.port}", ANALYST[0], "default"], ANALYST[1]))
    assert {k: got[k] for k in EXPECTED_COMMON} == EXPECTED_COMMON and got["bound"] == "0,7,14,"


# --- @clickhouse/client ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def jscheck():
    return build.js()


def test_javascript_client_admin(wh, jscheck):
    facts = run(["node", "check.mjs", wh.url, ADMIN[0]], ADMIN[1], cwd=jscheck)
    got = one(facts)
    assert got["ping"] == "true"
    assert {k: got[k] for k in EXPECTED_COMMON} == EXPECTED_COMMON
    assert (got["select_nullable"], got["bound"]) == ("null/2.5", "0,7,14,")
    assert facts["row"] == ["1|2024-02-29|1.5", "2|1999-12-31|null"]
    assert got["streamed"] == "200000"  # a streamed result, read as it arrives


def test_javascript_client_as_the_read_only_analyst(wh, jscheck):
    got = one(run(["node", "check.mjs", wh.url, ANALYST[0]], ANALYST[1], cwd=jscheck))
    assert {k: got[k] for k in EXPECTED_COMMON} == EXPECTED_COMMON and got["done"] == "analyst"


def test_clickhouse_connect_notebook_keeps_temporary_tables_as_the_analyst(wh):
    """clickhouse-connect opens a session of its own by default: a notebook's temporary tables live in it."""
    client = clickhouse_connect.get_client(
        host=wh.host, port=wh.port, username=ANALYST[0], password=ANALYST[1], database=DATABASE
    )
    assert client.get_client_setting("session_id")  # its default, not the test's
    client.command("CREATE TEMPORARY TABLE picks (modality String, n UInt32)")
    client.insert("picks", [["CT", 3], ["MR", 4]], column_names=["modality", "n"])
    joined = client.query(
        "SELECT p.modality, p.n, a.modality FROM picks AS p "
        "LEFT JOIN activity_daily AS a ON a.modality = p.modality ORDER BY 1"
    )
    assert joined.result_rows == [("CT", 3, ""), ("MR", 4, "")]  # an analyst view joined (empty here)
    other = clickhouse_connect.get_client(host=wh.host, port=wh.port, username=ANALYST[0], password=ANALYST[1])
    with pytest.raises(clickhouse_connect.driver.exceptions.DatabaseError, match="not picks"):
        other.query("SELECT count() FROM picks")  # another session: no such temporary table, so a table it may not read
    client.close()
    other.close()


# --- the README's recipes ---------------------------------------------------------------------------


def readme_section() -> str:
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    start = text.index("### Connect your tools")
    return text[start : text.index("\n### ", start + 1)]


def test_the_readme_names_the_urls_these_tests_use():
    section = readme_section()
    assert f"jdbc:clickhouse://127.0.0.1:8123/{DATABASE}" in section  # test_jdbc_*: the same URL, our port
    assert "`com.clickhouse:clickhouse-jdbc` 0.10.0" in section
    assert "0.10.0" in (Path(build.HERE) / "jdbc" / "pom.xml").read_text()
    assert 'url: "http://127.0.0.1:8123", username: "analyst"' in section


def test_the_readme_curl_recipes_run_as_written(wh):
    lines = [line for line in readme_section().splitlines() if line.startswith("curl ")]
    assert len(lines) == 4
    outputs = []
    for line in lines:
        line = line.replace("127.0.0.1:8123", f"{wh.host}:{wh.port}").replace("analyst:analyst", ":".join(ANALYST))
        result = subprocess.run(["bash", "-c", line], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, (line, result.stderr)
        outputs.append(result.stdout)
    assert int(outputs[0]) > 10  # the analyst views and tables of dids, by name
    assert outputs[2] == '{"s":"45"}\n'  # the session kept the SET: 64-bit integers quoted
    assert "X-ClickHouse-Progress:" in outputs[3] and "Content-Encoding: zstd" in outputs[3]
