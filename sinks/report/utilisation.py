"""Equipment utilisation in the report: the month's rows of ``utilisation_hourly`` (or its disclosure-
controlled twin ``pub_utilisation_hourly``) and the shapes the page draws from them (pure, apart from
``fetch_utilisation``).

A count is None where disclosure control hid it (1 to the threshold); an hour without a row had no test.
``hour`` None is a test with a date only: it is shown as such, never spread over the hours.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

# the derived MODALITY labels of CT and MRI (the NICIP classification's), and how the page names them
CT_MRI: tuple[tuple[str, str], ...] = (
    ("Computerized axial tomography", "CT"),
    ("Magnetic resonance imaging", "MRI"),
)
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")  # ISO 1..7
HEATMAP_MODALITIES = 8  # the busiest modalities get a heatmap each


@dataclass(frozen=True)
class UtilisationCell:
    level: str  # site | site_hours | national (0013_equipment_utilisation.sql)
    provider_code: str | None
    site_code: str | None
    modality: str
    weekday: int | None  # 1 = Monday .. 7 = Sunday; None: all weekdays (site_hours) or a restricted record
    hour: int | None  # 0-23 on the UK clock; None: date only
    tests: int | None  # None: hidden by disclosure control


def fetch_utilisation(rows, month_param: str, disclosure_control: bool) -> list[UtilisationCell]:
    """The month's rows; ``rows(sql)`` runs a query with the report's parameters (``{m:String}`` the month)."""
    view = "pub_utilisation_hourly" if disclosure_control else "utilisation_hourly"
    query = (
        f"SELECT level, provider_code, site_code, modality, weekday, hour, tests FROM {view} "
        f"WHERE month = {{{month_param}:String}} ORDER BY level, modality, site_code, weekday, hour"
    )
    return [
        UtilisationCell(
            str(r[0]),
            r[1],
            r[2],
            str(r[3]),
            None if r[4] is None else int(r[4]),
            None if r[5] is None else int(r[5]),
            None if r[6] is None else int(r[6]),
        )
        for r in rows(query)
    ]


@dataclass(frozen=True)
class Heatmap:
    """One modality's week, all sites: (weekday, hour) -> tests (0 when no row, None when hidden)."""

    modality: str
    grid: dict[tuple[int, int], int | None]
    date_only: dict[int, int | None]  # weekday -> tests with a date only
    timed: int  # tests with an hour, as published (hidden cells count 0)
    undated: int  # date only, as published

    def value(self, weekday: int, hour: int) -> int | None:
        return self.grid.get((weekday, hour), 0)


def heatmaps(cells: list[UtilisationCell], limit: int = HEATMAP_MODALITIES) -> list[Heatmap]:
    """The national week of each modality, busiest first (by published tests, then name)."""
    grids: dict[str, dict[tuple[int, int], int | None]] = defaultdict(dict)
    dates: dict[str, dict[int, int | None]] = defaultdict(dict)
    for c in cells:
        if c.level != "national" or c.weekday is None:  # weekday None: restricted records, month only
            continue
        if c.hour is None:
            dates[c.modality][c.weekday] = c.tests
        else:
            grids[c.modality][(c.weekday, c.hour)] = c.tests
    out = []
    for modality in set(grids) | set(dates):
        grid, date_only = grids.get(modality, {}), dates.get(modality, {})
        timed = sum(v or 0 for v in grid.values())
        undated = sum(v or 0 for v in date_only.values())
        out.append(Heatmap(modality, grid, date_only, timed, undated))
    out.sort(key=lambda h: (-(h.timed + h.undated), h.modality))
    return out[:limit]


@dataclass(frozen=True)
class SiteHours:
    """A site's busiest and idlest hour for one modality over the month (all weekdays together)."""

    provider_code: str | None
    site_code: str | None
    modality: str  # the page's short name (CT, MRI)
    busiest: tuple[int, int | None] | None  # (hour, tests); None: no test with a time
    idlest: tuple[int, int | None] | None
    timed: int | None  # tests with an hour (None: every hour hidden)
    date_only: int | None  # tests with a date only (0: none; None: hidden)


def _rank(value: int | None) -> float:
    """Order of counts with hidden ones: 0 < hidden (1 to the threshold) < any published count."""
    return 0.5 if value is None else float(value)


def site_hours(cells: list[UtilisationCell], modalities=CT_MRI) -> list[SiteHours]:
    """For each site and each of ``modalities``: the busiest hour, and the idlest hour within the site's
    working span (its first to its last hour with a test: an hour in between without a test counts as 0,
    the night outside it does not)."""
    names = dict(modalities)
    hours: dict[tuple, dict[int, int | None]] = defaultdict(dict)
    undated: dict[tuple, int | None] = {}
    for c in cells:
        if c.level != "site_hours" or c.modality not in names:
            continue
        key = (c.provider_code or "", c.site_code or "", c.modality)
        if c.hour is None:
            undated[key] = c.tests
        else:
            hours[key][c.hour] = c.tests
    out = []
    order = {label: i for i, (label, _) in enumerate(modalities)}
    for key in sorted(set(hours) | set(undated), key=lambda k: (k[1], order[k[2]], k[0])):
        provider, site, modality = key
        by_hour = hours.get(key, {})
        busiest = idlest = None
        timed: int | None = None
        if by_hour:
            span = range(min(by_hour), max(by_hour) + 1)
            busiest_hour = max(span, key=lambda h: (_rank(by_hour.get(h, 0)), -h))
            idlest_hour = min(span, key=lambda h: (_rank(by_hour.get(h, 0)), h))
            busiest = (busiest_hour, by_hour.get(busiest_hour, 0))
            idlest = (idlest_hour, by_hour.get(idlest_hour, 0))
            published = [v for v in by_hour.values() if v is not None]
            timed = sum(published) if published else None
        out.append(
            SiteHours(provider or None, site or None, names[modality], busiest, idlest, timed, undated.get(key, 0))
        )
    return out
