"""The report's equipment-utilisation section (pure: data in, HTML out): heatmaps per modality with the
date-only column, the busiest and idlest hours of CT and MRI per site, hidden counts, hostile names."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from sinks.report import ReportData, build_report
from sinks.report.utilisation import UtilisationCell, heatmaps, site_hours

NOW = datetime(2026, 11, 3, 9, 30, tzinfo=timezone.utc)
CT, MR, XR = "Computerized axial tomography", "Magnetic resonance imaging", "Plain radiography"


def cell(level, site, modality, weekday, hour, tests, provider="RAA"):
    if level == "national":
        provider = site = None
    return UtilisationCell(level, provider, site, modality, weekday, hour, tests)


def cells() -> list[UtilisationCell]:
    return [
        # national weeks: CT on Monday 09:00 and 10:00, a hidden Sunday 03:00, Tuesdays with a date only
        cell("national", None, CT, 1, 9, 40),
        cell("national", None, CT, 1, 10, 25),
        cell("national", None, CT, 7, 3, None),
        cell("national", None, CT, 2, None, 15),
        cell("national", None, XR, 3, 14, 500),
        cell("national", None, XR, None, None, 5),  # restricted records: month only, in no week
        # a site's hours over the week: CT 08:00-17:00 with a gap at 12:00 and a hidden 16:00
        *[cell("site_hours", "RAA01", CT, None, h, n) for h, n in ((8, 10), (9, 55), (10, 30), (11, 20))],
        *[cell("site_hours", "RAA01", CT, None, h, n) for h, n in ((13, 15), (16, None), (17, 10))],
        cell("site_hours", "RAA01", CT, None, None, 35),
        # MRI at a site that sends dates only
        cell("site_hours", "RBB02", MR, None, None, 120, provider="RBB"),
        # not CT or MRI: in no busiest/idlest row
        cell("site_hours", "RAA01", XR, None, 9, 300),
    ]


def data(**overrides) -> ReportData:
    d = ReportData(month="2026-10", source="live", generated_at=NOW, utilisation=cells())
    for k, v in overrides.items():
        setattr(d, k, v)
    return d


def test_heatmaps_per_modality_busiest_first_with_the_date_only_column():
    maps = heatmaps(cells())
    assert [m.modality for m in maps] == [XR, CT]
    ct = maps[1]
    assert ct.value(1, 9) == 40 and ct.value(1, 10) == 25
    assert ct.value(7, 3) is None  # hidden
    assert ct.value(3, 12) == 0  # no row: no test
    assert ct.date_only == {2: 15}  # never spread over the hours
    assert (ct.timed, ct.undated) == (65, 15)
    assert all(weekday is not None for m in maps for weekday, _ in m.grid)  # restricted rows stay out


def test_busiest_and_idlest_hours_per_site():
    rows = site_hours(cells())
    assert [(r.site_code, r.modality) for r in rows] == [("RAA01", "CT"), ("RBB02", "MRI")]
    ct, mri = rows
    assert ct.busiest == (9, 55)
    assert ct.idlest == (12, 0)  # within the working span, an hour without a test is the idlest
    assert (ct.timed, ct.date_only) == (140, 35)  # the hidden hour is not added
    assert mri.busiest is None and mri.idlest is None and mri.date_only == 120  # date only: no hour


def test_a_hidden_hour_ranks_below_any_shown_count_and_above_zero():
    rows = [cell("site_hours", "RAA01", CT, None, h, n) for h, n in ((9, 10), (10, None), (11, 15))]
    (ct,) = site_hours(rows)
    assert ct.idlest == (10, None) and ct.busiest == (11, 15)
    (hidden,) = site_hours([cell("site_hours", "RAA01", MR, None, 9, None)])
    assert hidden.busiest == (9, None) and hidden.timed is None


def test_the_section_renders_heatmaps_as_vector_svg_and_the_site_table():
    html = build_report(data())
    section = html[html.index("<h2>Equipment utilisation</h2>") : html.index("<h2>Data quality</h2>")]
    assert section.count("<svg") == 2  # one heatmap per modality
    assert "data:image" not in section and "<image" not in section  # cells are vector, no embedded picture
    assert "date only" in section
    rows = re.findall(r"<tr>(.*?)</tr>", section)
    cells_ = [re.findall(r"<td[^>]*>(.*?)</td>", r) for r in rows]
    assert ["RAA01", "RAA", "CT", "09:00–09:59", "55", "12:00–12:59", "0", "140", "35"] in cells_
    assert ["RBB02", "RBB", "MRI", "date only", "–", "date only", "–", "–", "120"] in cells_
    assert "<script" not in html


def test_hidden_cells_show_as_stars_with_the_rule():
    html = build_report(data())
    section = html[html.index("<h2>Equipment utilisation</h2>") : html.index("<h2>Data quality</h2>")]
    assert "hidden by disclosure control" in section
    assert ">*<" in section  # the heatmap's hidden Sunday 03:00
    raw = build_report(data(disclosure_control=False))
    assert "hidden by disclosure control" not in raw[raw.index("<h2>Equipment utilisation</h2>") :]


def test_hostile_site_provider_and_modality_names_are_escaped():
    hostile = [
        cell("site_hours", "<script>alert(1)</script>", CT, None, 9, 20, provider='R"><img src=x onerror=1>'),
        cell("national", None, "<b onmouseover=alert(2)>MRI & co</b>", 1, 9, 30),
    ]
    html = build_report(data(utilisation=hostile))
    assert "<script" not in html and "<img" not in html and "<b onmouseover" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "R&quot;&gt;&lt;img src=x onerror=1&gt;" in html
    assert "&lt;b onmouseover=alert(2)&gt;MRI &amp; co&lt;/b&gt;" in html  # inside the heatmap's SVG


def test_an_empty_month_says_so():
    html = build_report(data(utilisation=[]))
    assert "No tests for 2026-10." in html and "No CT or MRI tests for 2026-10." in html
