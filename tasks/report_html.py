"""The report's HTML pieces: one cell formatter, tables, folded details, marked text, a bar chart.

Everything that comes from the data goes through `cell` (or `esc`): article text may hold
`<script>` as ordinary characters (badinputs/script_title.html) and must stay text, and a
missing value is an empty cell, never `nan`, `None` or `NaT`.
"""
from __future__ import annotations

import difflib
import html
import math
import re

CELL_CHARS = 120  # a sample cell shows this much; whole bodies never reach a table


def esc(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def is_missing(value) -> bool:
    """None, NaN, NaT, pd.NA: what a cell shows as empty."""
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    try:
        import pandas as pd
        return value is pd.NA or value is pd.NaT or (
            not isinstance(value, (str, bytes, list, tuple, dict)) and bool(pd.isna(value)))
    except (TypeError, ValueError):  # an array: not a scalar missing value
        return False


def plain(value, limit: int | None = CELL_CHARS) -> str:
    """`value` as the text a reader should see: missing -> '', floats without noise, lists
    joined, whole numbers grouped, long text cut to `limit` characters with an ellipsis."""
    if hasattr(value, "tolist") and not isinstance(value, str):
        value = value.tolist()
    if isinstance(value, (list, tuple, set)):
        text = ", ".join(plain(v, None) for v in value if not is_missing(v))
    elif is_missing(value):
        text = ""
    elif isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, float):
        text = f"{value:,.3f}".rstrip("0").rstrip(".")
    elif isinstance(value, int):
        text = f"{value:,}"
    else:
        text = " ".join(str(value).split())  # a table cell is one line
    return text if limit is None or len(text) <= limit else text[:limit - 1] + "…"


def cell(value, limit: int | None = CELL_CHARS) -> str:
    """The one formatter for a table cell: `plain`, escaped."""
    return esc(plain(value, limit))


def table(headers: list[str], rows: list[list], cls: str = "", raw: set[int] = frozenset()) -> str:
    """A table of `rows`; the cells at positions in `raw` are HTML already (made by this
    module's functions), every other one goes through `cell`."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c if i in raw else cell(c)}</td>"
                                    for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f'<table class="{esc(cls)}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def details(summary_html: str, body_html: str, open_: bool = False, cls: str = "") -> str:
    return (f'<details class="{esc(cls)}"{" open" if open_ else ""}><summary>{summary_html}'
            f"</summary>{body_html}</details>")


def marked_span(text: str, start: int, end: int, context: int = 80) -> str:
    """The sentence around text[start:end] (cut to `context` characters each side), escaped,
    the span in <mark>: a fact shown where it was read."""
    start, end = max(0, int(start)), min(len(text), int(end))
    stops = "。！？!?\n"
    left = max((text.rfind(s, 0, start) for s in stops), default=-1) + 1
    right = min((i for i in (text.find(s, end) for s in stops) if i >= 0), default=len(text))
    left, right = max(left, start - context), min(right + 1, end + context)
    before = ("…" if left > 0 else "") + text[left:start]
    after = text[end:right] + ("…" if right < len(text) else "")
    return f"{esc(before)}<mark>{esc(text[start:end])}</mark>{esc(after)}"


def marked_all(text: str, figures: list[str]) -> str:
    """`text` escaped, with every occurrence of a figure wrapped in <mark>."""
    if not figures:
        return esc(text)
    pattern = re.compile("|".join(re.escape(f) for f in sorted(set(figures), key=len, reverse=True)))
    out, pos = [], 0
    for m in pattern.finditer(text):
        out += [esc(text[pos:m.start()]), f"<mark>{esc(m.group(0))}</mark>"]
        pos = m.end()
    return "".join(out) + esc(text[pos:])


def side_by_side_diff(a: str, b: str) -> tuple[str, str]:
    """`a` and `b` escaped, what differs marked (<del> in `a`, <ins> in `b`; difflib)."""
    left, right = [], []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        x, y = esc(a[i1:i2]), esc(b[j1:j2])
        if op == "equal":
            left.append(x)
            right.append(y)
            continue
        if x:
            left.append(f"<del>{x}</del>")
        if y:
            right.append(f"<ins>{y}</ins>")
    return "".join(left), "".join(right)


def svg_bar_chart(title: str, labels: list, values: list, unit: str = "") -> str:
    """A horizontal bar chart as inline SVG: no script, renders offline in any browser."""
    if not values:
        return f"<p>{esc(title)}: no data.</p>"
    top = max(values) or 1
    bar_h, label_w, chart_w = 22, 260, 420
    rows = []
    for i, (label, value) in enumerate(zip(labels, values)):
        y = i * bar_h
        w = max(1, int(chart_w * value / top))
        rows.append(
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{cell(label, 24)}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{w}" height="{bar_h - 6}" fill="#3b6ea8"/>'
            f'<text x="{label_w + w + 4}" y="{y + 15}">{cell(value)}{esc(unit)}</text>')
    height = bar_h * len(values)
    return (f'<figure><figcaption>{esc(title)}</figcaption><svg xmlns="http://www.w3.org/2000/svg" '
            f'width="{label_w + chart_w + 120}" height="{height}" font-size="12" role="img" '
            f'aria-label="{esc(title)}">{"".join(rows)}</svg></figure>')
