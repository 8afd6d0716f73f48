"""The widget's HTML: `render(view)` → one self-contained fragment (inline CSS and SVG
charts, no script), so it shows the same in JupyterLab, classic Notebook, VS Code and a
saved notebook, and re-rendering it whole is how the widget refreshes.

Invariant: every string that comes from the run (names, tags, metric names, log lines,
errors) goes through `html.escape`; a log line `<script>` shows as text.
"""

from __future__ import annotations

import math
from html import escape

from runyard.widgets._data import RunView, Series

COLORS = {"Completed": "#2e7d32", "Failed": "#c62828", "Canceled": "#757575",
          "Running": "#1565c0", "Queued": "#8e24aa", "Preparing": "#ef6c00",
          "Starting": "#f9a825", "Finalizing": "#00838f", "NotStarted": "#9e9e9e"}
WIDTH, HEIGHT = 260, 90


def _color(status: str) -> str:
    return COLORS.get(status, "#546e7a")


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {secs:02d}s"


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.6g}" if isinstance(value, float) else escape(str(value))


def _timeline(view: RunView) -> str:
    total = sum(s.seconds for s in view.stages) or 1.0
    bars = "".join(
        f'<div title="{escape(s.status)}: {_duration(s.seconds)}" style="flex:'
        f'{max(s.seconds / total, 0.02):.4f};background:{_color(s.status)};color:#fff;'
        f'padding:2px 4px;overflow:hidden;white-space:nowrap;font-size:11px">'
        f'{escape(s.status)} {_duration(s.seconds)}{" …" if s.active else ""}</div>'
        for s in view.stages)
    return f'<div class="runyard-timeline" style="display:flex;gap:1px;margin:4px 0">{bars}</div>'


def _chart(series: Series) -> str:
    points = series.points
    xs = [p[0] for p in points] or [0.0]
    ys = [p[1] for p in points] or [0.0]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    dx, dy = (x1 - x0) or 1.0, (y1 - y0) or 1.0
    path = " ".join(f"{(x - x0) / dx * (WIDTH - 4) + 2:.1f},"
                    f"{HEIGHT - 2 - (y - y0) / dy * (HEIGHT - 4):.1f}" for x, y in points)
    last = series.last if math.isfinite(series.last) else float("nan")
    return (f'<div class="runyard-chart" data-metric="{escape(series.name)}" '
            f'style="display:inline-block;margin:4px 8px 4px 0;font-size:11px">'
            f'<div><b>{escape(series.name)}</b> last {_number(last)} '
            f'({series.count} points, min {_number(y0)}, max {_number(y1)})</div>'
            f'<svg width="{WIDTH}" height="{HEIGHT}" style="background:#fafafa;'
            f'border:1px solid #ddd"><polyline fill="none" stroke="#1565c0" '
            f'stroke-width="1.5" points="{path}"/></svg></div>')


def _table(header: list[str], rows: list[list[str]], css: str) -> str:
    head = "".join(f"<th style='text-align:left;padding:1px 6px'>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td style='padding:1px 6px'>{c}</td>" for c in row)
                   + "</tr>" for row in rows)
    return f'<table class="{css}" style="font-size:12px"><tr>{head}</tr>{body}</table>'


def _children(view: RunView) -> str:
    if not view.children:
        return ""
    if view.primary_metric is not None:
        names = sorted({k for c in view.children for k in c.hyperparameters})
        header = ["run", "status", escape(view.primary_metric), *map(escape, names)]
        rows = [[escape(c.run_id), escape(c.status), _number(c.metric),
                 *(escape(str(c.hyperparameters.get(n, ""))) for n in names)]
                for c in view.children]
        title = f"Child runs, best {escape(view.primary_metric)} first"
    else:
        header, title = ["run", "status"], "Child runs"
        rows = [[escape(c.run_id), escape(c.status)] for c in view.children]
    return f"<h4 style='margin:6px 0 2px'>{title}</h4>" + _table(header, rows, "runyard-children")


def render(view: RunView) -> str:
    """The whole widget for `view`."""
    name = f" — {escape(view.display_name)}" if view.display_name else ""
    parts = [
        f'<div class="runyard-run" data-run-id="{escape(view.run_id)}" '
        f'data-status="{escape(view.status)}" style="font-family:sans-serif">',
        f'<div><b>Run {escape(view.run_id)}</b>{name} · experiment {escape(view.experiment)}'
        f' · <span class="runyard-status" style="color:{_color(view.status)};'
        f'font-weight:bold">{escape(view.status)}</span>'
        f'{"" if view.terminal else " (refreshing)"}'
        f' · <a href="{escape(view.url)}" target="_blank">open its page</a></div>',
    ]
    if view.error:
        parts.append(f'<pre class="runyard-error" style="color:#c62828;white-space:pre-wrap">'
                     f'{escape(view.error)}</pre>')
    parts.append(_timeline(view))
    if view.series:
        parts.append("<div>" + "".join(_chart(s) for s in view.series) + "</div>")
    if view.scalars:
        rows = [[escape(k), escape(str(v))[:200]] for k, v in view.scalars.items()]
        parts.append(_table(["metric", "value"], rows, "runyard-scalars"))
    parts.append(_children(view))
    if view.log_name:
        parts.append(f"<h4 style='margin:6px 0 2px'>{escape(view.log_name)} (last lines)</h4>"
                     f'<pre class="runyard-log" style="max-height:16em;overflow:auto;'
                     f'background:#f5f5f5;padding:4px;font-size:11px">'
                     + escape("\n".join(view.log_tail)) + "</pre>")
    parts.append("</div>")
    return "".join(parts)
