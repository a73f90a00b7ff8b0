"""producers.extract.batches: the fast block reader gives exactly what the strict record reader gives -
the same records, or the same file reject at the same line - on well-formed and hostile CSV alike."""

from __future__ import annotations

import pytest

from dids.kernel.items import CSV_HEADERS, ITEM_NAMES
from producers.extract import FileRejectError, open_extract
from producers.extract import batches as batches_module
from producers.extract.batches import record_batches

ROW = ",".join(f"v{i}" for i in range(18))
EMPTYISH = "," * 17
HEADER = ",".join(CSV_HEADERS)

FILES = {
    "plain-lf": f"{ROW}\n{ROW}\n",
    "crlf-no-final-newline": f"{ROW}\r\n{ROW}",
    "header": f"{HEADER}\r\n{ROW}\r\n",
    "header-lower-spaced": f"{' , '.join(h.lower() for h in CSV_HEADERS)}\n{ROW}\n",
    "bom": f"\ufeff{ROW}\n",
    "empty-fields": f"{EMPTYISH}\n{ROW}\n",
    "unicode-and-spaces": " \u00a0x," * 17 + "\u2028\n",
    "quoted-comma": f'"a,b",{ROW.split(",", 1)[1]}\n',
    "quoted-newline": f'"a\nb",{ROW.split(",", 1)[1]}\n',
    "stray-quote": f'a"b,{ROW.split(",", 1)[1]}\n',
    "text-after-quote": f'"a"b,{ROW.split(",", 1)[1]}\n',
    "lone-cr": f"{ROW}\r{ROW}\n",
    "trailing-blank-lines": f"{ROW}\n\n\r\n\n",
    "blank-line-then-data": f"{ROW}\n\n{ROW}\n",
    "too-few": f"{ROW}\n{ROW[:-3]}\n",
    "too-many": f"{ROW}\n{ROW},x\n",
    "header-only": f"{HEADER}\n",
    "empty": "",
    "nul": f"{ROW}\n{ROW[:5]}\x00{ROW[5:]}\n",
}


def _strict(extract):
    try:
        return [(row, dict(raw)) for row, raw in extract.records()]
    except FileRejectError as exc:
        return ("reject", exc.code, exc.line)


def _fast(extract, rows):
    try:
        batches = list(record_batches(extract, rows))
    except FileRejectError as exc:
        return ("reject", exc.code, exc.line)
    out = []
    for batch in batches:
        for offset, raw in enumerate(batch.frame.iter_rows(named=True)):
            out.append((batch.first_row + offset, {name: raw[name] for name in ITEM_NAMES}))
    return out


@pytest.mark.parametrize("name", FILES)
@pytest.mark.parametrize("rows", [1, 50_000])
def test_the_fast_path_agrees_with_the_strict_reader(tmp_path, name, rows):
    path = tmp_path / "extract.csv"
    path.write_bytes(FILES[name].encode("utf-8"))
    try:
        extract = open_extract(path)
    except FileRejectError:
        return  # refused while sniffing its first record: neither reader is reached
    assert _fast(extract, rows) == _strict(extract)


def test_undecodable_bytes_and_cp1252(tmp_path):
    path = tmp_path / "extract.csv"
    path.write_bytes(f"{ROW}\n".encode() + b"caf\xe9" + ROW[2:].encode() + b"\n")
    assert _fast(open_extract(path), 10) == _strict(open_extract(path))
    cp1252 = open_extract(path, encoding="cp1252")
    assert _fast(cp1252, 10) == _strict(cp1252)
    assert _fast(cp1252, 10)[1][1]["nhs_number"] == "caf\u00e9"


def test_blocks_split_anywhere_still_give_every_record(tmp_path, monkeypatch):
    monkeypatch.setattr(batches_module, "BLOCK_BYTES", 7)  # cuts lines, BOMs and CRLFs in two
    path = tmp_path / "extract.csv"
    path.write_bytes(("\ufeff" + f"{ROW}\r\n" * 5 + f"{EMPTYISH}\r\n").encode())
    assert _fast(open_extract(path), 2) == _strict(open_extract(path))


@pytest.mark.parametrize("name", ["plain-lf", "crlf-no-final-newline", "header", "bom", "trailing-blank-lines"])
def test_well_formed_unquoted_files_take_the_fast_path(tmp_path, monkeypatch, name):
    path = tmp_path / "extract.csv"
    path.write_bytes(FILES[name].encode("utf-8"))
    extract = open_extract(path)
    expected = _strict(extract)

    def no_strict_reading(*args, **kwargs):
        raise AssertionError("the strict reader was used")

    monkeypatch.setattr(batches_module, "_record_batches", no_strict_reading)
    assert _fast(extract, 10) == expected
