"""The HTML report of ``klaster bms check``: the findings and a small plot of each zone's evidence.

One self-contained file: the plots are PNGs embedded as base64, so the page
can be mailed or opened anywhere without the files beside it.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from zoneinfo import ZoneInfo

import matplotlib

matplotlib.use("Agg")  # files only; never open a window
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import pandas as pd

from bms.checks import CheckResult
from bms.findings import Finding, Severity
from cluster.config import ClusterConfig

#: Zones plotted at most (the worst first); the rest are listed without plots.
MAX_PLOTS = 24
_SEVERITY_COLOUR = {
    Severity.CRITICAL: "#b00020",
    Severity.WARNING: "#b26a00",
    Severity.INFO: "#1565c0",
}

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; vertical-align: top; text-align: left; }
th { background: #f3f3f3; }
.zone { display: inline-block; margin: 0 1.5em 1.5em 0; vertical-align: top; }
.zone h3 { margin: 0.2em 0; font-size: 1em; }
"""


def zone_plot_png(frame: pd.DataFrame, findings: list[Finding], time_zone: ZoneInfo) -> bytes:
    """A small plot of a zone: room temperature, setpoint and band, heating output below.

    The spans of the zone's findings are shaded in their severity's colour.
    """
    local = frame.copy()
    local.index = pd.DatetimeIndex(local.index).tz_convert(time_zone)
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(5.2, 3.0), sharex=True, height_ratios=(2, 1), constrained_layout=True
    )
    top.fill_between(local.index, local["band_min_c"], local["band_max_c"], step="post",
                     color="#4caf50", alpha=0.25, label="band")  # fmt: skip
    top.step(local.index, local["setpoint_c"], where="post", color="#d32f2f", label="setpoint")
    top.plot(local.index, local["room_temp_c"], color="#1565c0", label="room")
    top.set_ylabel("°C", fontsize=8)
    top.legend(fontsize=6, loc="upper left", ncols=3)
    bottom.step(local.index, local["heat_output_pct"], where="post", color="#ef6c00")
    bottom.set_ylim(-5, 105)
    bottom.set_ylabel("heating %", fontsize=8)
    for finding in findings:
        for axis in (top, bottom):
            axis.axvspan(finding.since.tz_convert(time_zone), finding.until.tz_convert(time_zone),
                         color=_SEVERITY_COLOUR[finding.severity], alpha=0.08)  # fmt: skip
    for axis in (top, bottom):
        axis.tick_params(labelsize=7)
    bottom.xaxis.set_major_formatter(mdates.DateFormatter("%d %H:%M", tz=time_zone))
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    plt.close(fig)
    return buffer.getvalue()


def _findings_rows(findings: list[Finding], time_zone: ZoneInfo) -> str:
    rows = []
    for f in findings:
        colour = _SEVERITY_COLOUR[f.severity]
        cells = [
            f'<td style="color:{colour}"><b>{f.severity.label}</b></td>',
            f"<td>{html.escape(f.point_id)}</td>",
            f"<td>{html.escape(f.rule)}</td>",
            f"<td>{f.since.tz_convert(time_zone):%Y-%m-%d %H:%M}</td>",
            f"<td>{html.escape(f.evidence)}</td>",
            f"<td>{html.escape(f.fix)}</td>",
        ]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return "\n".join(rows)


def check_report_html(
    result: CheckResult, config: ClusterConfig, start: pd.Timestamp, end: pd.Timestamp
) -> str:
    """The report as one HTML page."""
    zone = config.cluster.zone
    findings = result.findings
    header = (
        "<tr><th>severity</th><th>point</th><th>rule</th><th>since</th>"
        "<th>evidence</th><th>fix</th></tr>"
    )
    table = (
        f"<table>{header}\n{_findings_rows(findings, zone)}</table>"
        if findings
        else "<p>No findings: every rule stayed silent.</p>"
    )
    plotted: list[str] = []
    zones_with_findings = list(dict.fromkeys((f.building_id, f.zone_id) for f in findings))
    for key in zones_with_findings[:MAX_PLOTS]:
        frame = result.frames.get(key)
        if frame is None or frame.empty:
            continue
        mine = [f for f in findings if (f.building_id, f.zone_id) == key]
        png = base64.b64encode(zone_plot_png(frame, mine, zone)).decode("ascii")
        plotted.append(
            f'<div class="zone"><h3>{html.escape("/".join(key))}</h3>'
            f'<img alt="{html.escape("/".join(key))}" src="data:image/png;base64,{png}"></div>'
        )
    more = len(zones_with_findings) - MAX_PLOTS
    note = f"<p>{more} more zone(s) with findings are not plotted.</p>" if more > 0 else ""
    period = f"{start.tz_convert(zone):%Y-%m-%d %H:%M} to {end.tz_convert(zone):%Y-%m-%d %H:%M}"
    title = f"BMS check — {config.cluster.name}"
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>\n"
        f"<h1>{html.escape(title)}</h1>\n"
        f"<p>{len(findings)} finding(s) in {len(result.frames)} zone(s); history from "
        f"{period} ({html.escape(config.cluster.timezone)}).</p>\n"
        f"{table}\n<h2>Evidence</h2>\n{''.join(plotted) or '<p>Nothing to plot.</p>'}{note}\n"
        "</body></html>\n"
    )


def write_check_report(
    path: Path, result: CheckResult, config: ClusterConfig, start: pd.Timestamp, end: pd.Timestamp
) -> Path:
    """Write the HTML report to ``path`` (atomically) and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".partial")
    partial.write_text(check_report_html(result, config, start, end), encoding="utf-8")
    partial.replace(path)
    return path
