"""The report's equipment-utilisation section: a weekday x hour heatmap per modality (inline SVG, drawn as
vector cells, no embedded image) with a 'date only' column beside it, and the busiest and idlest hours of
CT and MRI at each site."""

from __future__ import annotations

from html import escape

from sinks.report.plots import _RC, _figure, _svg
from sinks.report.utilisation import WEEKDAYS, Heatmap, SiteHours, UtilisationCell, heatmaps, site_hours

SUPPRESSED = "*"
_HIDDEN_COLOUR = "#d8dde0"
_SHADES = 9  # colour steps: a colour bar of 9 vector boxes, not 256 (the page stays small)


def _e(value) -> str:
    return escape("" if value is None else str(value))


def _count(value) -> str:
    return SUPPRESSED if value is None else f"{int(value):,}"


def plot_heatmap(heatmap: Heatmap, month: str) -> str:
    """One modality's week as SVG: 7 weekdays x 24 hours, and the tests with a date only per weekday."""
    import matplotlib
    import numpy as np
    from matplotlib import colormaps
    from matplotlib.colors import ListedColormap

    blues = colormaps["Blues"].resampled(_SHADES)

    values = np.full((7, 24), np.nan)
    hidden = []
    for weekday in range(1, 8):
        for hour in range(24):
            v = heatmap.value(weekday, hour)
            if v is None:
                hidden.append((weekday, hour))
            else:
                values[weekday - 1, hour] = v
    with matplotlib.rc_context(_RC):
        fig = _figure(9, 2.6)
        grid = fig.add_gridspec(1, 2, width_ratios=[24, 2.2])
        ax, side = fig.add_subplot(grid[0]), fig.add_subplot(grid[1])
        top = max(1.0, float(np.nanmax(values)) if not np.all(np.isnan(values)) else 1.0)
        mesh = ax.pcolormesh(
            np.ma.masked_invalid(values), cmap=blues, vmin=0, vmax=top, edgecolors="white", linewidth=0.4
        )
        for weekday, hour in hidden:  # hidden by disclosure control: grey, marked
            ax.add_patch(matplotlib.patches.Rectangle((hour, weekday - 1), 1, 1, color=_HIDDEN_COLOUR))
            ax.text(hour + 0.5, weekday - 0.5, SUPPRESSED, ha="center", va="center", fontsize=7)
        ax.set_xticks([h + 0.5 for h in range(0, 24, 2)], [f"{h:02d}" for h in range(0, 24, 2)])
        ax.set_yticks([d + 0.5 for d in range(7)], WEEKDAYS)
        ax.invert_yaxis()
        ax.set_xlabel("hour of the test (UK clock)")
        ax.spines[:].set_visible(False)
        bar = fig.colorbar(mesh, ax=ax, location="left", shrink=0.9, pad=0.02, label="tests")
        bar.solids.set_rasterized(False)  # vector, not an embedded picture
        side.pcolormesh(np.zeros((7, 1)), cmap=ListedColormap(["#f0f4f5"]), edgecolors="white", linewidth=0.4)
        for weekday in range(1, 8):
            side.text(0.5, weekday - 0.5, _count(heatmap.date_only.get(weekday, 0)), ha="center", va="center")
        side.set_xticks([0.5], ["date only"])
        side.set_yticks([])
        side.invert_yaxis()
        side.spines[:].set_visible(False)
        ax.set_title(f"{heatmap.modality}, {month}: tests by weekday and hour, all sites", loc="left")
        return _svg(fig, f"Tests by weekday and hour: {heatmap.modality}, {month}")


def _hour(slot: tuple[int, int | None] | None) -> tuple[str, str]:
    if slot is None:
        return "date only", "–"
    hour, tests = slot
    return f"{hour:02d}:00–{hour:02d}:59", _count(tests)


def _site_table(rows: list[SiteHours]) -> str:
    head = "".join(
        f'<th class="n">{h}</th>' if num else f"<th>{h}</th>"
        for h, num in (
            ("Site", False),
            ("Provider", False),
            ("Modality", False),
            ("Busiest hour", False),
            ("Tests", True),
            ("Idlest hour", False),
            ("Tests", True),
            ("Tests with a time", True),
            ("Date only", True),
        )
    )
    body = []
    for r in rows:
        busiest, busiest_n = _hour(r.busiest)
        idlest, idlest_n = _hour(r.idlest)
        cells = [
            f"<td>{_e(r.site_code)}</td>",
            f"<td>{_e(r.provider_code)}</td>",
            f"<td>{_e(r.modality)}</td>",
            f"<td>{busiest}</td>",
            f'<td class="n">{busiest_n}</td>',
            f"<td>{idlest}</td>",
            f'<td class="n">{idlest_n}</td>',
            f'<td class="n">{_count(r.timed) if r.busiest else "–"}</td>',
            f'<td class="n">{_count(r.date_only)}</td>',
        ]
        body.append(f"<tr>{''.join(cells)}</tr>")
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'


def utilisation_section(cells: list[UtilisationCell], month: str, disclosure_control: bool) -> str:
    """The section's HTML (already escaped)."""
    out = [
        "<h2>Equipment utilisation</h2>",
        '<p class="note">Tests by weekday and hour of the test\'s start on the UK clock (BST or GMT, as the '
        "clock showed). Only a source that gives the time has an hour: a DIDS v2 extract's CODED PROCEDURE "
        "START TIMESTAMP, or HL7 OBR-7 with a time; a test with a <strong>date only</strong> is counted on "
        "its weekday in the 'date only' column, never spread over the hours. Live current records whatever "
        "the report's source.</p>",
    ]
    maps = heatmaps(cells)
    if not maps:
        out.append(f'<p class="empty">No tests for {_e(month)}.</p>')
    for heatmap in maps:
        out.append(f"<figure>{plot_heatmap(heatmap, month)}</figure>")
    out.append(f"<h3>Busiest and idlest hours of CT and MRI by site, {_e(month)}</h3>")
    rows = site_hours(cells)
    if rows:
        out.append(_site_table(rows))
    else:
        out.append(f'<p class="empty">No CT or MRI tests for {_e(month)}.</p>')
    note = (
        "All weekdays of the month together. The idlest hour is the quietest within the site's working span "
        "(its first to its last hour with a test; an hour in between without one counts as 0). 'date only': "
        "the site sent no time for that modality."
    )
    if disclosure_control:
        note += (
            f" {SUPPRESSED} : a count of 1 to the threshold, hidden by disclosure control (it ranks below any "
            "shown count); 'Tests with a time' adds the shown hourly counts only."
        )
    out.append(f'<p class="note">{note}</p>')
    return "\n".join(out)
