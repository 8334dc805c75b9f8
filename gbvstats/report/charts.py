"""Charts of the report: matplotlib, drawn to SVG and inlined in the HTML.

Matplotlib is imported here only (this module is imported by `gbvstats report` alone).
Text is drawn as paths in matplotlib's bundled DejaVu Sans (Cyrillic with the Kyrgyz
letters ү, ө, ң), so the chart reads the same in any browser with no font to fetch.
Output is byte-stable: a fixed hash salt per chart (its ids are also unique within the
page), no date or creator in the metadata; the XML prolog, DOCTYPE, comments and
namespace declarations are removed, since the SVG lives inside an HTML page, which
leaves no address of another host in it. Suppressed figures are not drawn: their place
is marked "x".
"""

from __future__ import annotations

import io
import re
import textwrap
import warnings

from gbvstats.report.build import ChartModel, format_number

# Okabe-Ito: distinguishable by readers with colour-vision deficiencies, and in grey print
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]
WIDTH_IN, HEIGHT_IN = 6.8, 3.2
LABEL_WIDTH = 34  # characters per line of a bar's label
RC = {
    "svg.fonttype": "path",
    "font.family": "DejaVu Sans",
    "font.size": 8.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#555555",
    "axes.titlesize": 9,
    "legend.frameon": False,
    "legend.fontsize": 8,
    "path.simplify": False,
}
METADATA = {"Date": None, "Creator": None, "Format": None, "Type": None}


def render_svg(chart: ChartModel) -> str:
    """The chart as an `<svg>` element ready to inline."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    with matplotlib.rc_context({**RC, "svg.hashsalt": f"gbvstats-{chart.salt}"}):
        height = HEIGHT_IN
        if chart.kind == "bar":
            lines = sum(len(textwrap.wrap(c, LABEL_WIDTH)) or 1 for c in chart.categories)
            height = max(2.2, 0.9 + 0.2 * lines + 0.18 * len(chart.categories) * max(1, len(chart.series) * 0.7))
        fig = Figure(figsize=(WIDTH_IN, height))
        ax = fig.add_subplot()
        if chart.kind == "line":
            _line(ax, chart)
        else:
            _bars(ax, chart)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # a label too long still draws, clipped
            fig.tight_layout()
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata=METADATA)
    return inline(buf.getvalue(), chart.caption)


def _has_values(chart: ChartModel) -> bool:
    return any(v for s in chart.series for v in s.values if v is not None)


def _axis(axis, chart: ChartModel) -> None:
    """Ticks in the report's number format; whole numbers only for counts."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    if chart.decimals == 0:
        axis.set_major_locator(MaxNLocator(integer=True))
    digits = 0 if chart.decimals == 0 else None
    axis.set_major_formatter(FuncFormatter(
        lambda v, _pos: format_number(v, chart.decimals if digits is None else digits, chart.lang)))


def _line(ax, chart: ChartModel) -> None:
    x = list(range(len(chart.categories)))
    for k, s in enumerate(chart.series):
        y = [float("nan") if v is None else v for v in s.values]
        ax.plot(x, y, marker="o", markersize=3.5, linewidth=1.6, color=PALETTE[k % len(PALETTE)],
                label=s.label)
        for xi, hidden in zip(x, s.hidden, strict=True):
            if hidden:  # the figure is suppressed: say so where it would be
                ax.annotate("x", (xi, 0), xycoords=("data", "axes fraction"), xytext=(0, 3),
                            textcoords="offset points", ha="center", va="bottom",
                            color=PALETTE[k % len(PALETTE)], fontsize=8)
    ax.set_xticks(x, chart.categories)
    ax.set_xlim(-0.3, len(x) - 0.7)
    ax.set_ylim(bottom=0, top=None if _has_values(chart) else 1)
    _axis(ax.yaxis, chart)
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    if len(chart.series) > 1:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=min(3, len(chart.series)))


def _bars(ax, chart: ChartModel) -> None:
    n, k = len(chart.categories), len(chart.series)
    width = 0.8 / max(k, 1)
    top = max((v for s in chart.series for v in s.values if v is not None), default=0) or 1
    for j, s in enumerate(chart.series):
        ys = [i + (j - (k - 1) / 2) * width for i in range(n)]
        values = [0.0 if v is None else v for v in s.values]
        color = PALETTE[j % len(PALETTE)]
        ax.barh(ys, values, height=width * 0.9, color=color, label=s.label if k > 1 else None)
        for y, v, hidden in zip(ys, s.values, s.hidden, strict=True):
            text = "x" if hidden else ("–" if v is None else format_number(v, chart.decimals, chart.lang))
            ax.annotate(text, (v or 0, y), xytext=(3, 0), textcoords="offset points",
                        va="center", ha="left", fontsize=7.5, color="#333333")
    ax.set_yticks(range(n), [textwrap.fill(c, LABEL_WIDTH) for c in chart.categories])
    ax.invert_yaxis()  # the first category on top, as in the tables
    ax.set_xlim(0, top * 1.15)
    _axis(ax.xaxis, chart)
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    if k > 1:
        ax.legend(loc="lower right")


_PROLOG = re.compile(r"^.*?(?=<svg\b)", re.S)
_COMMENT = re.compile(r"<!--.*?-->\s*", re.S)
_XMLNS = re.compile(r'\s+xmlns(?::[a-z]+)?="[^"]*"')
_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.S)


def inline(svg: str, label: str) -> str:
    """An SVG document as an element for an HTML page: no prolog, DOCTYPE, comments,
    metadata or namespace declarations (the HTML parser supplies them); labelled for
    screen readers."""
    from html import escape

    body = _PROLOG.sub("", svg, count=1)
    body = _COMMENT.sub("", body)
    body = _METADATA.sub("", body)
    body = _XMLNS.sub("", body)
    return body.replace("<svg", f'<svg role="img" aria-label="{escape(label, quote=True)}"', 1).strip()
