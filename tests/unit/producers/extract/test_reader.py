"""open_extract: format by content and extension, progress hook, re-reading, streaming memory."""

from __future__ import annotations

import codecs
import inspect
import itertools
import tracemalloc

import pytest

from producers.extract import FileRejectError, open_extract, write_csv, write_xml


def test_format_by_content_then_extension(tmp_path, generated, write_bytes):
    write_csv(generated[:3], tmp_path / "a.csv")
    write_xml(generated[:3], tmp_path / "b.txt")  # XML content, any extension
    assert open_extract(tmp_path / "a.csv").format == "csv"
    assert open_extract(tmp_path / "b.txt").format == "xml"
    bom_xml = write_bytes("c.dat", codecs.BOM_UTF8 + (tmp_path / "b.txt").read_bytes())
    assert open_extract(bom_xml).format == "xml"
    assert list(open_extract(bom_xml).records())[2][0] == 3
    bare = (tmp_path / "b.txt").read_bytes().split(b"\n", 1)[1]  # no XML declaration, leading blanks
    assert open_extract(write_bytes("e.dat", b"\r\n  " + bare)).format == "xml"
    not_xml = open_extract(write_bytes("d.xml", b"a,b,c\n"))
    assert not_xml.format == "xml"  # the extension says XML: the reader rejects it as DIDS076
    with pytest.raises(FileRejectError) as caught:
        list(not_xml)
    assert caught.value.code == "DIDS076"


def test_open_rejects_a_bad_first_csv_line_and_missing_files(tmp_path, write_bytes):
    with pytest.raises(FileRejectError):
        open_extract(write_bytes("u.csv", b"\xff\xfeN\x00"))
    with pytest.raises(OSError):
        open_extract(tmp_path / "missing.csv")


@pytest.mark.parametrize("suffix", ["csv", "xml"])
def test_progress_reports_growing_byte_counts_up_to_the_size(tmp_path, generated, suffix):
    path = tmp_path / f"p.{suffix}"
    rows = generated * 20
    (write_csv if suffix == "csv" else write_xml)(rows, path)
    extract = open_extract(path)
    seen: list[tuple[int, int]] = []
    count = sum(1 for _ in extract.records(lambda done, total: seen.append((done, total))))
    assert count == len(rows)
    assert len(seen) > 2
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    assert seen[-1] == (extract.size, extract.size)


def test_an_extract_can_be_read_twice(tmp_path, generated):
    write_csv(generated[:10], tmp_path / "t.csv")
    extract = open_extract(tmp_path / "t.csv")
    assert list(extract) == list(extract.records())


def test_reading_200k_rows_streams_in_bounded_memory(tmp_path, generated):
    path = tmp_path / "big.csv"
    write_csv(itertools.chain.from_iterable(itertools.repeat(generated, 200)), path, header=True)
    extract = open_extract(path)
    records = extract.records()
    assert inspect.isgenerator(records)
    tracemalloc.start()
    try:
        count = 0
        for count, _ in records:  # noqa: B007 - counting
            pass
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 200_000
    assert extract.size > 25_000_000
    assert peak < 2_000_000, f"peak {peak:,} bytes while reading {extract.size:,}"
