"""What the warehouse's HTTP layer reads out of SQL before the engine sees it."""

from __future__ import annotations

import pytest

from deploy.warehouse.errors import QueryError
from deploy.warehouse.sql import analyze, with_account


@pytest.mark.parametrize(
    ("text", "fmt", "data"),
    [
        ("INSERT INTO t FORMAT Native\n\x00\x01;x", "Native", "\x00\x01;x"),
        ("INSERT INTO t FORMAT CSV 1,2\n3,4", "CSV", "1,2\n3,4"),
        ("INSERT INTO t FORMAT CSV  \r\n\n1,2", "CSV", "\n1,2"),  # one line break belongs to the header
        ("insert into db.`odd name` (a, `b c`) settings x = 1 format TSV\n1\t2", "TSV", "1\t2"),
        ("INSERT INTO TABLE t (a) VALUES (1, 'a;b'), (2, ')')", "Values", " (1, 'a;b'), (2, ')')"),
        ("/* c */ INSERT INTO FUNCTION file('x.csv', 'CSV') FORMAT CSV\n1", "CSV", "1"),
    ],
)
def test_insert_data_starts_after_the_header(text, fmt, data):
    stmt = analyze(text)
    assert (stmt.kind, stmt.data_format, text[stmt.data_start :]) == ("INSERT", fmt, data)


def test_insert_header_is_rewritten_to_read_the_spool_file():
    text = "INSERT INTO db.t (a, b) SETTINGS insert_deduplication_token = 'x' FORMAT CSV\n1,2"
    sql = analyze(text).with_infile(text, "/spool/it's.body")
    assert sql == (
        "INSERT INTO db.t (a, b)  FROM INFILE '/spool/it\\'s.body' SETTINGS insert_deduplication_token = 'x' FORMAT CSV"
    )
    values = "INSERT INTO t VALUES (1)"
    assert analyze(values).with_infile(values, "/p") == "INSERT INTO t  FROM INFILE '/p'  FORMAT Values"


@pytest.mark.parametrize("text", ["INSERT INTO t SELECT * FROM s", "INSERT INTO t (a) WITH 1 AS x SELECT x"])
def test_insert_select_has_no_inline_data(text):
    stmt = analyze(text)
    assert stmt.kind == "INSERT" and not stmt.has_data


@pytest.mark.parametrize(
    ("text", "fmt"),
    [
        ("SELECT 1", None),
        ("SELECT 1 FORMAT JSONEachRow", "JSONEachRow"),
        ("select 1 format Native settings max_threads = 1", "Native"),
        ("SELECT format FROM t", None),
        ("SELECT x AS format FROM t", None),
        ("SELECT (SELECT 1 FORMAT JSON)", None),
        ("SELECT 1 -- FORMAT JSON", None),
    ],
)
def test_output_format_is_the_trailing_clause(text, fmt):
    assert analyze(text).output_format == fmt


@pytest.mark.parametrize("text", ["SELECT 1; DROP TABLE t", "SELECT 1;;SELECT 2", "INSERT INTO t SELECT 1; SELECT 2"])
def test_multi_statements_are_refused(text):
    with pytest.raises(QueryError) as error:
        analyze(text)
    assert error.value.code == 62


@pytest.mark.parametrize("text", ["SELECT 1;", "SELECT ';' -- ;\n", "SELECT 1 /* ; */", "SELECT $$;$$"])
def test_semicolons_in_strings_comments_or_at_the_end_are_fine(text):
    assert analyze(text).kind == "SELECT"


@pytest.mark.parametrize("text", ["", "   \n", "-- only a comment"])
def test_empty_query(text):
    with pytest.raises(QueryError) as error:
        analyze(text)
    assert error.value.code == 62


def test_server_file_clauses_are_flagged():
    assert analyze("SELECT 1 INTO OUTFILE 'x'").outfile
    assert analyze("INSERT INTO t FROM INFILE 'x' FORMAT CSV").infile
    assert not analyze("SELECT * FROM infile").infile


def test_statement_kinds():
    assert analyze("(SELECT 1) UNION ALL (SELECT 2)").kind == "SELECT"
    assert analyze("  with x as (select 1) select * from x").kind == "WITH"
    assert analyze("DESC t").produces_result and not analyze("DROP TABLE t").produces_result


def test_a_long_body_must_be_insert_data():
    with pytest.raises(QueryError) as error:
        analyze("SELECT " + "1 + " * 10, complete=False)
    assert error.value.code == 62
    assert analyze("INSERT INTO t FORMAT CSV\n1,2", complete=False).has_data


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SELECT currentUser()", "SELECT 'analyst'"),
        ("SELECT user(), CURRENT_USER ( /* c */ ), `currentUser`()", "SELECT 'analyst', 'analyst', 'analyst'"),
        ("SELECT 'currentUser()', user AS u FROM t", "SELECT 'currentUser()', user AS u FROM t"),  # not calls
        ("SELECT db.user() -- currentUser()", "SELECT db.user() -- currentUser()"),
        ("SELECT currentUser(1)", "SELECT currentUser(1)"),  # a wrong call stays for the engine to refuse
    ],
)
def test_current_user_is_the_account(text, expected):
    assert with_account(text, "analyst") == expected


def test_an_account_name_cannot_break_out_of_its_string():
    assert with_account("SELECT currentUser()", "a'b\\") == "SELECT 'a\\'b\\\\'"
