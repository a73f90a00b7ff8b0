"""What a statement may touch, read from the engine's own parse tree (``EXPLAIN AST``), not from tokens.

The embedded engine runs as clickhouse-local, where nothing confines ``file()``, ``url()`` or the
``File`` engine to ``user_files_path`` and there are no grants: so server-side I/O is refused here,
for every account, by looking at what ClickHouse's parser made of the text. Quoting, case, comments
and aliases do not matter: `` `file`(…) ``, ``"file"(…)`` and ``FILE(…)`` are all ``Function file``.

* every account: no table function, table engine or dictionary source that reads or writes outside
  the warehouse (files, URLs, other servers, scripts, this process's Python objects), no BACKUP,
  RESTORE or ATTACH (their paths), no scalar function that reads files, no setting naming a file;
* the analyst: only the analyst views of the DIDS database, a few metadata tables of ``system`` and
  the temporary tables of its session (made with no engine that reads another table), only the table
  functions that generate data, and none of the functions that read tables by name;
* the linkage account: the same, with the linkage feed in place of the analyst views.

``EXPLAIN AST`` only parses: it runs nothing (``EXPLAIN QUERY TREE`` would fold constants, which
executes ``file()``), so the check is safe to run before the statement is allowed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from deploy.warehouse.errors import QueryError
from deploy.warehouse.sql import Token

# views an analyst may read (DIDS database): pseudonymised, no accession number, no record key
ANALYST_TABLES = frozenset(
    {
        "analyst_examinations",
        "activity_daily",
        "activity_monthly",
        "dq_rejects_by_rule",
        "dq_warnings_by_rule",
        "stats_activity_by_modality",
        "stats_provider_modality_month",
        "stats_waiting_times",
        "stats_early_cancer_gp_direct",
        "pub_activity_by_modality",
        "pub_provider_modality_month",
        "pub_waiting_times",
        "pub_early_cancer_gp_direct",
        "utilisation_hourly",
        "pub_utilisation_hourly",
        "disclosure_rules",
        "snapshot_revisions",
        "snapshots",
        "dissemination_audit",  # every extract and linkage run: read, never changed, by analysts
    }
)
# what the linkage account reads (the cancer-registry feed, migration 0012): nothing an analyst reads, and
# no analyst reads it
LINKAGE_TABLES = frozenset({"linkage_feed"})
# metadata tools and drivers read (no other session's queries, no paths)
ANALYST_SYSTEM_TABLES = frozenset(
    {
        "one",
        "numbers",
        "zeros",
        "tables",
        "columns",
        "databases",
        "functions",
        "table_functions",
        "formats",
        "data_type_families",
        "settings",
        "time_zones",
        "collations",
        "keywords",
        "table_engines",
    }
)
# table functions that only generate rows
GENERATING_TABLE_FUNCTIONS = frozenset(
    {
        "numbers",
        "numbers_mt",
        "zeros",
        "zeros_mt",
        "values",
        "generateseries",
        "generate_series",
        "generaterandom",
        "null",
        "view",
        "format",
    }
)
# the admin may also read its own tables through these
ADMIN_TABLE_FUNCTIONS = GENERATING_TABLE_FUNCTIONS | {"merge", "loop", "mergetreeindex", "mergetreeprojection"}
# table engines that keep data inside the warehouse
_LOCAL_ENGINES = frozenset({"memory", "null", "log", "tinylog", "stripelog", "set", "join", "buffer", "merge", "view"})
# of those, the ones a read-only account's temporary table may have: none reads another table by name
# (Merge, Buffer and View would read the DIDS tables behind the analyst views)
_ANALYST_ENGINES = frozenset({"memory", "null", "log", "tinylog", "stripelog", "set"})
# scalar functions that read files (or models from files) of the server
_FILE_FUNCTIONS = frozenset({"file", "catboostevaluate", "naivebayesclassifier"})
# scalar functions that read a table named in a string, or server internals an analyst has no use for
_ANALYST_DENIED_FUNCTIONS = frozenset(
    {
        "joinget",
        "joingetornull",
        "getserversetting",
        "getmacro",
        "filesystemavailable",
        "filesystemcapacity",
        "filesystemunreserved",
        "getclienthttpheader",
    }
)
# where a Function node of the parse tree is a table function: FROM …, INSERT INTO FUNCTION …, and
# CREATE TABLE t AS file(…) (a table over the function)
_TABLE_FUNCTION_PARENTS = frozenset({"TableExpression", "InsertQuery", "CreateQuery"})
# settings that name a file the engine would read or write
FILE_SETTINGS = frozenset({"format_template_resultset", "format_template_row", "format_schema", "output_format_schema"})
# statements whose clauses name paths (BACKUP … TO File(…), ATTACH … FROM '…'), and dictionaries (their sources)
_REFUSED_NODES = {
    "BackupQuery": "BACKUP and RESTORE",
    "AttachQuery": "ATTACH",
    "Dictionary": "dictionaries",
}


@dataclass(frozen=True)
class Node:
    kind: str  # Function, TableIdentifier, SelectQuery, ...
    name: str  # the function or table name ("" when the node has none)
    parent: str  # the parent node's kind
    first_child: bool  # the first child of its parent (a table engine comes first in its definition)


def parse_ast(text: str) -> list[Node]:
    """``EXPLAIN AST`` output (one node a line, indented one space a level) as nodes with their parent.

    The tree must be whole: one root, and every node with the number of children it declares. A check
    of part of a statement would pass what the rest of it touches, so a tree cut short (by a setting of
    the statement's own, say) is refused, never read."""
    nodes: list[Node] = []
    stack: list[list] = []  # [depth, kind, children seen, children declared]
    for line in text.split("\n"):  # as the engine splits it (str.splitlines also splits at \r, \f, ...)
        label = line.lstrip(" ")
        if not label:
            continue
        depth = len(line) - len(label)
        if (not stack and depth != 0) or (stack and depth > stack[-1][0] + 1):
            raise _incomplete()  # no root at the top, or a level skipped
        while stack and stack[-1][0] >= depth:
            _close(stack.pop())
        if not stack and nodes:
            raise _incomplete()  # a second root
        if stack:
            stack[-1][2] += 1
        parent, seen = (stack[-1][1], stack[-1][2] - 1) if stack else ("", 0)
        words = label.split()
        kind = words[0]
        if label.startswith(("Storage definition", "Dictionary definition", "Columns definition")):
            kind = label.split(" (", 1)[0].replace(" definition", "")
        name = words[1] if len(words) > 1 and not words[1].startswith("(") else ""
        nodes.append(Node(kind, name, parent, seen == 0))
        declared = _CHILDREN.search(label)
        stack.append([depth, kind, 0, int(declared.group(1)) if declared else 0])
    while stack:
        _close(stack.pop())
    if not nodes:
        raise _incomplete()
    return nodes


_CHILDREN = re.compile(r"\(children (\d+)\)$")


def _close(entry: list) -> None:
    if entry[2] != entry[3]:
        raise _incomplete()


def _incomplete() -> QueryError:
    return _refused("the statement's parse tree came back incomplete, so what it touches cannot be checked")


def check(
    nodes: Iterable[Node],
    *,
    analyst: bool,
    database: str,
    current_database: str,
    tables: frozenset[str] = ANALYST_TABLES,
    temporary: frozenset[str] = frozenset(),
) -> None:
    """Raise QueryError for the first thing in the statement its account may not touch. ``analyst``: a
    read-only account, which reads only ``tables`` of the DIDS database (and metadata), and the
    ``temporary`` tables of its session (an unqualified name is the temporary table first, as the
    engine resolves it)."""
    for node in nodes:
        lower = node.name.lower()
        if node.kind in _REFUSED_NODES:
            raise _refused(f"{_REFUSED_NODES[node.kind]} are not available in the embedded warehouse")
        if node.kind == "Function":
            if node.parent == "Storage":
                if node.first_child and not (lower.endswith("mergetree") or lower in _LOCAL_ENGINES):
                    raise _refused(f"table engine {node.name} reads or writes outside the warehouse")
                if node.first_child and analyst and not (lower == "mergetree" or lower in _ANALYST_ENGINES):
                    raise _refused(f"table engine {node.name} is not available to this account")
            elif node.parent in _TABLE_FUNCTION_PARENTS:
                allowed = GENERATING_TABLE_FUNCTIONS if analyst else ADMIN_TABLE_FUNCTIONS
                if lower not in allowed:
                    raise _refused(f"table function {node.name} is not available to this account")
            elif lower in _FILE_FUNCTIONS or (
                analyst and (lower in _ANALYST_DENIED_FUNCTIONS or lower.startswith("dict"))
            ):
                raise _refused(f"function {node.name} is not available to this account")
        elif node.kind == "TableIdentifier" and analyst and not _temporary(node.name, temporary):
            _check_analyst_table(node.name, database, current_database, tables)


def _check_analyst_table(name: str, database: str, current_database: str, tables: frozenset[str]) -> None:
    db, dot, table = name.rpartition(".")
    db = db if dot else current_database
    if (db == database and table in tables) or (db == "system" and table in ANALYST_SYSTEM_TABLES):
        return
    account = "linkage" if tables == LINKAGE_TABLES else "analyst"
    raise _refused(
        f"the {account} account reads only the {account} views of {database} ({', '.join(sorted(tables))}) "
        f"and metadata tables of system, not {name}; a WITH query used as a table counts as a table here: "
        "write it as a subquery"
    )


def check_setting_names(names: Iterable[str]) -> None:
    for name in names:
        if name.lower() in FILE_SETTINGS:
            raise _refused(f"setting {name} names a file of the server and is not available")


_DROP_TARGETS = ("Identifier", "Function", "ExpressionList")


def writes_only(nodes: Iterable[Node], kind: str, temporary: frozenset[str]) -> bool:
    """An INSERT or DROP whose every target is one of the session's ``temporary`` tables (by bare name:
    a temporary table has no database)."""
    if kind not in ("INSERT", "DROP") or not temporary:
        return False
    # `db.t` is two Identifiers here, a function target a Function; an INSERT's ExpressionList is its
    # columns (and a SELECT its data), a DROP's the several tables it drops
    parent, kinds = ("InsertQuery", ("Identifier", "Function")) if kind == "INSERT" else ("DropQuery", _DROP_TARGETS)
    targets = [node for node in nodes if node.parent == parent and node.kind in kinds]
    return len(targets) == 1 and targets[0].kind == "Identifier" and _temporary(targets[0].name, temporary)


def _temporary(name: str, temporary: frozenset[str]) -> bool:
    # a dotted name is never taken for a temporary table: `db.t` unquoted means database db, whatever
    # temporary table `db.t` (quoted) a session made
    return "." not in name and name in temporary


# a line break in a quoted name, raw or escaped (\n, \x0A): the engine prints names unescaped in EXPLAIN AST
_LINE_BREAK = re.compile(r"\n|\\n|\\x0a", re.IGNORECASE)


def check_quoted_names(tokens: Iterable[Token]) -> None:
    """Refuse a name that would break the parse tree's lines: a node's line cut in two reads as two
    nodes, and a crafted name could then place a table function where the check reads it as an
    ordinary one. (String literals are printed escaped; only names are not.)"""
    for token in tokens:
        if token.kind == "quoted" and _LINE_BREAK.search(token.text):
            raise _refused("a quoted name with a line break in it is not available here: rename it")


def setting_words(tokens: Iterable[Token]) -> list[str]:
    """Every word and quoted name of a statement: where a SET or SETTINGS clause could name a setting."""
    return [t.text.strip('`"') for t in tokens if t.kind in ("word", "quoted")]


def _refused(message: str) -> QueryError:
    return QueryError(497, message, "ACCESS_DENIED")
