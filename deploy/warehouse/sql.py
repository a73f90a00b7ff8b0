"""Just enough SQL reading for the HTTP layer: what kind of statement, where INSERT data starts.

The engine parses the SQL for real. This module only answers what ClickHouse's HTTP handler
answers before execution: where an ``INSERT ... FORMAT X`` header ends and its inline data begins
(so the data can be spooled to a file instead of being held in memory), which output format a
statement names, whether the request holds more than one statement (chDB would run them all;
the ClickHouse server refuses them), and whether it says INTO OUTFILE or FROM INFILE.

Texts are ``str`` decoded as latin-1 so that character offsets are byte offsets of the request.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from deploy.warehouse.errors import QueryError

_WORD_START = re.compile(r"[A-Za-z_\x80-\xff]")
_WORD = re.compile(r"[A-Za-z0-9_$\x80-\xff]*")
_NUMBER = re.compile(r"[0-9A-Za-z_.]*")
_HEREDOC = re.compile(r"\$([A-Za-z0-9_]*)\$")
_WHITESPACE = " \t\n\r\f\v"

# statements that produce a result set: the response names its format (X-ClickHouse-Format)
RESULT_KINDS = frozenset({"SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXISTS", "EXPLAIN", "CHECK", "VALUES"})
# statements a read-only user may send; the engine's readonly=1 is the real guard, this gives
# the clear error first and closes the gaps readonly=1 leaves open (see deploy.warehouse.guard)
READ_KINDS = RESULT_KINDS - {"CHECK"} | {"SET", "USE"}


@dataclass(frozen=True)
class Token:
    kind: str  # word | string | quoted | number | punct
    text: str
    start: int
    end: int

    def is_word(self, *words: str) -> bool:
        return self.kind == "word" and self.text.upper() in words


def tokens(text: str, pos: int = 0) -> Iterator[Token]:
    """ClickHouse lexing, minus what the HTTP layer never needs: whitespace and comments skipped."""
    n = len(text)
    while pos < n:
        ch = text[pos]
        if ch in _WHITESPACE:
            pos += 1
        elif text.startswith("--", pos) or (ch == "#" and text[pos + 1 : pos + 2] in (" ", "!")):
            eol = text.find("\n", pos)
            pos = n if eol < 0 else eol + 1
        elif text.startswith("/*", pos):
            pos = _skip_block_comment(text, pos)
        elif ch in "'\"`":
            end = _skip_quoted(text, pos, ch)
            yield Token("string" if ch == "'" else "quoted", text[pos:end], pos, end)
            pos = end
        elif ch == "$" and (m := _HEREDOC.match(text, pos)):
            close = text.find(m.group(0), m.end())
            end = n if close < 0 else close + len(m.group(0))
            yield Token("string", text[pos:end], pos, end)
            pos = end
        elif _WORD_START.match(ch):
            end = _WORD.match(text, pos + 1).end()
            yield Token("word", text[pos:end], pos, end)
            pos = end
        elif ch.isdigit():
            end = _NUMBER.match(text, pos + 1).end()
            yield Token("number", text[pos:end], pos, end)
            pos = end
        else:
            yield Token("punct", ch, pos, pos + 1)
            pos += 1


def _skip_block_comment(text: str, pos: int) -> int:
    depth, pos = 0, pos
    while pos < len(text):
        if text.startswith("/*", pos):
            depth += 1
            pos += 2
        elif text.startswith("*/", pos):
            depth -= 1
            pos += 2
            if depth == 0:
                return pos
        else:
            pos += 1
    return pos


def _skip_quoted(text: str, pos: int, quote: str) -> int:
    pos += 1
    while pos < len(text):
        ch = text[pos]
        if ch == "\\":
            pos += 2
        elif ch == quote:
            if text[pos + 1 : pos + 2] == quote:  # doubled quote escapes itself
                pos += 2
            else:
                return pos + 1
        else:
            pos += 1
    return len(text)


@dataclass(frozen=True)
class Statement:
    kind: str  # first keyword, upper case ("" for an empty text)
    output_format: str | None = None  # trailing `FORMAT X` of a query
    # INSERT with inline data (`FORMAT X <data>` or `VALUES <data>`); offsets into the text
    data_format: str | None = None
    data_start: int | None = None
    header_end: int | None = None  # end of the SQL part (for VALUES: where VALUES starts)
    infile_point: int | None = None  # where `FROM INFILE '...'` goes: after the table and columns
    # the server's own files: ClickHouse refuses INTO OUTFILE / FROM INFILE over HTTP (file() and
    # the like are read from the parse tree: deploy.warehouse.guard)
    outfile: bool = False
    infile: bool = False

    @property
    def has_data(self) -> bool:
        return self.data_start is not None

    @property
    def produces_result(self) -> bool:
        return self.kind in RESULT_KINDS

    def sql_head(self, text: str) -> str:
        """The statement without inline INSERT data: what the parse-tree check reads."""
        if not self.has_data:
            return text
        assert self.header_end is not None
        return text[: self.header_end] + (" FORMAT Values" if self.data_format == "Values" else "")

    def with_infile(self, text: str, path: str) -> str:
        """The INSERT header rewritten to read its data from ``path`` (the spooled request body)."""
        assert self.has_data and self.infile_point is not None and self.header_end is not None
        infile = f" FROM INFILE {quote_string(path)} "
        sql = text[: self.infile_point] + infile + text[self.infile_point : self.header_end]
        return sql + " FORMAT Values" if self.data_format == "Values" else sql


def analyze(text: str, *, complete: bool = True) -> Statement:
    """Read one statement. ``complete`` is False when ``text`` is only the start of a long body:
    then the statement must be an INSERT whose data starts inside ``text``."""
    toks = tokens(text)
    first = next(toks, None)
    while first is not None and first.text == "(":
        first = next(toks, None)
    if first is None:
        raise QueryError(62, "Empty query", "SYNTAX_ERROR")
    kind = first.text.upper() if first.kind == "word" else first.text
    if kind == "INSERT":
        stmt = _analyze_insert(text, toks)
        if stmt is not None:
            return stmt
    if not complete:
        raise QueryError(62, "Max query size exceeded (the query part of the request is too long)", "SYNTAX_ERROR")
    return _analyze_query(kind, text)


def _analyze_query(kind: str, text: str) -> Statement:
    top: list[Token] = []  # tokens outside brackets: where the FORMAT clause lives
    flags = {"outfile": False, "infile": False}
    depth = 0
    before: Token | None = None
    prev: Token | None = None
    toks = tokens(text)
    for tok in toks:
        if tok.kind == "punct" and tok.text == ";":
            rest = next(toks, None)
            while rest is not None and rest.text == ";":
                rest = next(toks, None)
            if rest is not None:
                raise QueryError(
                    62,
                    f"Syntax error (Multi-statements are not allowed): failed at position {rest.start + 1}",
                    "SYNTAX_ERROR",
                )
            break
        if tok.kind == "punct" and tok.text in "([":
            depth += 1
        elif tok.kind == "punct" and tok.text in ")]":
            depth -= 1
        elif depth == 0:
            top.append(tok)
        if tok.kind == "string" and prev is not None and before is not None:
            if prev.is_word("OUTFILE") and before.is_word("INTO"):
                flags["outfile"] = True
            if prev.is_word("INFILE") and before.is_word("FROM"):
                flags["infile"] = True
        before, prev = prev, tok
    return Statement(kind=kind, output_format=_output_format(top), **flags)


def _output_format(top: list[Token]) -> str | None:
    """The name after the last top-level FORMAT keyword, when that clause ends the query
    (optionally followed by SETTINGS): `SELECT format FROM t` names a column, not a format."""
    for i in range(len(top) - 2, -1, -1):
        tok, name = top[i], top[i + 1]
        if not tok.is_word("FORMAT") or name.kind != "word" or (i > 0 and top[i - 1].is_word("AS")):
            continue
        after = top[i + 2] if i + 2 < len(top) else None
        if after is None or after.is_word("SETTINGS"):
            return name.text
        return None
    return None


def _analyze_insert(text: str, toks: Iterator[Token]) -> Statement | None:
    """INSERT INTO [TABLE] [FUNCTION] name[(args)] [(columns)] [SETTINGS ...] FORMAT X|VALUES <data>."""
    tok = next(toks, None)
    if tok is None or not tok.is_word("INTO"):
        return None
    tok = next(toks, None)
    if tok is not None and tok.is_word("TABLE"):
        tok = next(toks, None)
    is_function = tok is not None and tok.is_word("FUNCTION")
    if is_function:
        tok = next(toks, None)
    if tok is None or tok.kind not in ("word", "quoted"):
        return None
    tok = next(toks, None)
    while tok is not None and tok.text == "." and tok.kind == "punct":
        tok = next(toks, None)  # the name part after the dot
        tok = next(toks, None) if tok is not None else None
    if is_function and tok is not None and tok.text == "(":
        tok = _skip_parens(toks)
    if tok is not None and tok.text == "(":
        tok = _skip_parens(toks)
    point = tok.start if tok is not None else len(text)
    while tok is not None:
        if tok.is_word("FORMAT"):
            name = next(toks, None)
            if name is None or name.kind != "word":
                return None
            return Statement(
                kind="INSERT",
                data_format=name.text,
                data_start=_data_start(text, name.end),
                header_end=name.end,
                infile_point=point,
            )
        if tok.is_word("VALUES"):
            return Statement(
                kind="INSERT", data_format="Values", data_start=tok.end, header_end=tok.start, infile_point=point
            )
        if tok.is_word("SELECT", "WITH", "FROM") or tok.text == "(":
            return None  # INSERT ... SELECT (or a FROM INFILE of its own): plain SQL
        tok = next(toks, None)
    return None


def _skip_parens(toks: Iterator[Token]) -> Token | None:
    depth = 1
    for tok in toks:
        if tok.kind == "punct" and tok.text == "(":
            depth += 1
        elif tok.kind == "punct" and tok.text == ")":
            depth -= 1
            if depth == 0:
                return next(toks, None)
    return None


def _data_start(text: str, pos: int) -> int:
    """ClickHouse's rule: after the format name skip spaces and tabs, then one line break."""
    n = len(text)
    while pos < n and text[pos] in " \t\f":
        pos += 1
    if pos < n and text[pos] == "\r":
        pos += 1
    if pos < n and text[pos] == "\n":
        pos += 1
    return pos


def quote_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def quote_identifier(name: str) -> str:
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


# ClickHouse's names for the function (case-insensitive): what `with_account` answers for the engine
_CURRENT_USER = frozenset({"CURRENTUSER", "USER", "CURRENT_USER"})


def with_account(text: str, account: str) -> str:
    """``text`` with each call of ``currentUser()`` (or ``user()``, ``current_user()``, any case,
    quoted or not) replaced by the account's name as a string: chDB runs every query as its one
    engine user, so without this every account would be ``default``."""
    toks = list(tokens(text))
    out, last = [], 0
    for i, tok in enumerate(toks):
        name = tok.text.strip('`"').upper() if tok.kind in ("word", "quoted") else ""
        if (
            name in _CURRENT_USER
            and i + 2 < len(toks)
            and toks[i + 1].text == "("
            and toks[i + 2].text == ")"
            and not (i > 0 and toks[i - 1].text == ".")  # db.user() is some other function
        ):
            out += [text[last : tok.start], quote_string(account)]
            last = toks[i + 2].end
    return "".join(out) + text[last:] if out else text
