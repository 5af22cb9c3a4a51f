"""The run report: one self-contained HTML page (works offline) plus a markdown summary.

Everything that comes from the data is passed through `html.escape`: article text may hold
`<script>` as ordinary characters (badinputs/script_title.html) and must stay text.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from newsgate.tasks.gates import GateResult

SAMPLES_PER_RULE = 3
STORIES_SHOWN = 30        # largest story clusters shown side by side
MEMBERS_SHOWN = 4         # articles of one story shown side by side
EXCERPT_CHARS = 300


@dataclass
class RunSummary:
    run_id: str
    status: str  # "published" | "unchanged" | "blocked" | "rejected" | "locked" | "failed"
    release_id: str | None
    sources: list[str]
    funnel: list[tuple[str, int]]
    gates: list[GateResult]
    started_at: str
    finished_at: str
    blocked_by: list[str] = field(default_factory=list)
    error: str | None = None
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    data_docs: Path | None = None  # index.html of the run's GX Data Docs

    @property
    def n_warnings(self) -> int:
        return sum(len(g.warnings) for g in self.gates)


def _e(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _table(headers: list[str], rows: list[list], cls: str = "") -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _gate_section(gates: list[GateResult]) -> str:
    parts = []
    for gate in gates:
        status = "pass" if gate.passed and not gate.warnings else ("fail" if not gate.passed else "warn")
        rows = []
        for c in gate.checks:
            rows.append(f'<tr class="{c.status}"><td>{_e(c.status)}</td><td>{_e(c.severity)}</td>'
                        f"<td>{_e(c.engine)}</td><td><code>{_e(c.check)}</code></td>"
                        f"<td>{_e(c.description)}</td><td>{_e(c.observed)}</td></tr>")
            if c.sample and not c.success:
                cols = list(c.sample[0])
                rows.append(f'<tr class="sample"><td colspan="6"><details><summary>'
                            f"{_e(len(c.sample))} sample failing rows</summary>"
                            f"{_table(cols, [[r.get(k) for k in cols] for r in c.sample])}"
                            f"</details></td></tr>")
        parts.append(
            f'<h3 class="{status}">{_e(gate.table)} — {_e(status)} '
            f"<small>({_e(gate.rows_in)} rows in, {_e(gate.rows_out)} kept, "
            f"{_e(len(gate.quarantine))} quarantined)</small></h3>"
            "<table><thead><tr><th>status</th><th>severity</th><th>engine</th><th>check</th>"
            "<th>rule</th><th>observed</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")
    return "".join(parts)


def _removals_section(removals: pd.DataFrame | None) -> str:
    if removals is None or removals.empty:
        return "<p>Nothing was removed.</p>"
    chars = removals.assign(n=removals["text"].str.len()).groupby("rule")["n"].agg(["count", "sum"])
    rows = []
    for rule, stat in chars.sort_values("sum", ascending=False).iterrows():
        samples = removals.loc[removals["rule"] == rule, "text"].head(SAMPLES_PER_RULE).tolist()
        rows.append([rule, int(stat["count"]), int(stat["sum"]), " ⏐ ".join(s[:80] for s in samples)])
    return _table(["rule", "spans", "characters", "samples"], rows)


def _clusters_section(clusters: pd.DataFrame | None, articles: pd.DataFrame | None) -> str:
    if clusters is None or clusters.empty:
        return "<p>No clusters.</p>"
    dups = clusters[~clusters["is_canonical"].astype(bool)]
    if dups.empty:
        return f"<p>{len(clusters)} articles, no duplicates.</p>"
    titles = articles.set_index("article_id")["title"] if articles is not None and not articles.empty else {}
    rows = [[r.canonical_id, titles.get(r.canonical_id, ""), r.article_id, titles.get(r.article_id, ""),
             r.kind, f"{float(r.similarity):.3f}"] for r in dups.itertuples()]
    return _table(["canonical", "canonical title", "duplicate", "duplicate title", "kind", "similarity"], rows)


def _marked(text: str, figures: list[str]) -> str:
    """`text` escaped, with every shared figure wrapped in <mark> (escaped piece by piece)."""
    if not figures:
        return _e(text)
    pattern = re.compile("|".join(re.escape(f) for f in sorted(set(figures), key=len, reverse=True)))
    out, pos = [], 0
    for m in pattern.finditer(text):
        out += [_e(text[pos:m.start()]), f"<mark>{_e(m.group(0))}</mark>"]
        pos = m.end()
    return "".join(out) + _e(text[pos:])


def _stories_section(stories: pd.DataFrame | None, articles: pd.DataFrame | None) -> str:
    """Stories that join more than one copy cluster, largest first: one article of each cluster
    side by side (title, date, how it joined and why, the start of its text), shared figures
    marked. Copies inside a cluster are in the duplicate clusters above."""
    if stories is None or stories.empty:
        return "<p>No stories.</p>"
    cluster_of = dict(zip(stories["article_id"], stories["cluster_id"]))
    in_cluster_copy = stories["matched_id"].map(cluster_of) == stories["cluster_id"]
    members = stories[~in_cluster_copy]
    counts = members.groupby("story_id").size()
    shown = counts[counts > 1].sort_values(ascending=False)
    if shown.empty:
        return f"<p>{stories['story_id'].nunique()} stories; none joins two copy clusters.</p>"
    by_id = articles.set_index("article_id") if articles is not None and not articles.empty else None
    parts = [f"<p>{len(shown)} of {stories['story_id'].nunique()} stories join more than one copy "
             f"cluster; the {min(len(shown), STORIES_SHOWN)} largest, shared figures "
             f"<mark>marked</mark>:</p>"]
    for story_id in shown.index[:STORIES_SHOWN]:
        rows = members[members["story_id"] == story_id].sort_values(
            ["is_representative", "score"], ascending=False).head(MEMBERS_SHOWN)
        figures = [f for fs in rows["shared_figures"] for f in (list(fs) if fs is not None else [])]
        cells = []
        for r in rows.itertuples():
            title = body = date = ""
            if by_id is not None and r.article_id in by_id.index:
                title, date = by_id.at[r.article_id, "title"], by_id.at[r.article_id, "published_date"]
                body = str(by_id.at[r.article_id, "body"] or "")[:EXCERPT_CHARS]
            cells.append(
                f"<td><b>{_e(title)}</b><br><small>{_e(r.article_id)} · {_e(date)} · "
                f"{_e(r.relation)} {float(r.score):.2f}</small><br><small>{_e(r.evidence)}</small>"
                f"<p>{_marked(body, figures)}…</p></td>")
        size = int(stories["story_id"].eq(story_id).sum())
        parts.append(f"<details><summary>{_e(story_id)}: {size} articles, {int(shown[story_id])} "
                     f"copy clusters</summary><table class=\"story\"><tr>{''.join(cells)}</tr>"
                     f"</table></details>")
    return "".join(parts)


def _quarantine_section(quarantine: pd.DataFrame | None) -> str:
    if quarantine is None or quarantine.empty:
        return "<p>Nothing quarantined.</p>"
    rows = quarantine[["stage", "source", "reason", "detail"]].head(200).values.tolist()
    return _table(["stage", "source", "reason", "detail"], rows)


def _coverage_section(tables: dict[str, pd.DataFrame]) -> str:
    rows = []
    articles = tables.get("articles")
    clusters = tables.get("clusters")
    n_canonical = int(clusters["is_canonical"].astype(bool).sum()) if clusters is not None and len(clusters) else 0
    for name in ("mentions", "projects", "indicators", "visits", "keywords"):
        df = tables.get(name)
        if df is None:
            continue
        with_facts = df["article_id"].nunique() if len(df) else 0
        rows.append([name, len(df), with_facts, n_canonical])
    if articles is None:
        return ""
    return _table(["table", "rows", "articles with rows", "canonical articles"], rows)


def svg_bar_chart(title: str, labels: list, values: list, unit: str = "") -> str:
    """A horizontal bar chart as inline SVG: no script, renders offline in any browser."""
    if not values:
        return f"<p>{_e(title)}: no data.</p>"
    top = max(values) or 1
    bar_h, label_w, chart_w = 22, 260, 420
    rows = []
    for i, (label, value) in enumerate(zip(labels, values)):
        y = i * bar_h
        w = max(1, int(chart_w * value / top))
        rows.append(
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{_e(str(label)[:24])}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{w}" height="{bar_h - 6}" fill="#3b6ea8"/>'
            f'<text x="{label_w + w + 4}" y="{y + 15}">{_e(_fmt(value))}{_e(unit)}</text>')
    height = bar_h * len(values)
    return (f'<figure><figcaption>{_e(title)}</figcaption><svg xmlns="http://www.w3.org/2000/svg" '
            f'width="{label_w + chart_w + 120}" height="{height}" font-size="12" role="img" '
            f'aria-label="{_e(title)}">{"".join(rows)}</svg></figure>')


def _fmt(value) -> str:
    return f"{value:,.2f}".rstrip("0").rstrip(".") if isinstance(value, float) else f"{value:,}"


def _charts_section(tables: dict[str, pd.DataFrame], limit: int = 12) -> str:
    parts = []
    stats = tables.get("region_stats")
    if stats is not None and len(stats):
        by_region = (stats.groupby("region_full")["investment_yuan_total"].sum() / 1e8) \
            .sort_values(ascending=False).head(limit)
        by_region = by_region[by_region > 0]
        parts.append(svg_bar_chart("Investment by region (亿元)", list(by_region.index),
                                   [float(v) for v in by_region.values]))
    projects = tables.get("projects")
    if projects is not None and len(projects):
        for col, title in (("status", "Projects by status"), ("industry", "Projects by industry")):
            counts = projects[col].fillna("unknown").value_counts().head(limit)
            parts.append(svg_bar_chart(title, list(counts.index), [int(v) for v in counts.values]))
    keywords = tables.get("keywords")
    if keywords is not None and len(keywords):
        top = keywords.groupby("keyword")["weight"].sum().sort_values(ascending=False).head(limit)
        parts.append(svg_bar_chart("Top keywords (summed weight)", list(top.index),
                                   [float(v) for v in top.values]))
    return "".join(parts) or "<p>No aggregates to chart.</p>"


def _trends_section(tables: dict[str, pd.DataFrame], per_period: int = 8) -> str:
    """Keyword trends by year (canonical articles only) and the visits timeline."""
    from newsgate.tasks.aggregate import keyword_trends, visits_timeline

    parts = []
    keywords, articles = tables.get("keywords"), tables.get("articles")
    if keywords is not None and len(keywords) and articles is not None:
        trends = keyword_trends(keywords, articles, tables.get("clusters"),
                                stories=tables.get("stories"))
        top = trends[trends["rank"] <= per_period]
        rows = [[period if isinstance(period, str) else "date unknown",
                 "、".join(f"{k} ({n})" for k, n in zip(g["keyword"], g["n_articles"]))]
                for period, g in top.groupby("period", dropna=False, sort=True)]
        parts.append("<h3>Keyword trends by year</h3>" + _table(["year", "top keywords (articles)"], rows))
    visits = tables.get("visits")
    if visits is not None and len(visits):
        timeline = visits_timeline(visits, articles)
        rows = [[r.date or "", r.person, r.title or "", r.place or "", r.evidence]
                for r in timeline.itertuples()]
        parts.append("<h3>Visits timeline</h3>" + _table(["date", "person", "title", "place", "evidence"], rows))
    return "".join(parts)


CSS = """
body{font-family:system-ui,-apple-system,"Noto Sans CJK SC",sans-serif;margin:2rem;color:#222;max-width:1200px}
table{border-collapse:collapse;margin:.5rem 0 1.5rem;font-size:.9rem;width:100%}
th,td{border:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f4f4f4} tr.fail td{background:#fde2e1} tr.warn td{background:#fff5d6}
h3.fail{color:#b00020} h3.warn{color:#8a6d00} h3.pass{color:#1b7f3b}
.badge{display:inline-block;padding:.2rem .6rem;border-radius:.3rem;color:#fff}
.published,.unchanged{background:#1b7f3b}.blocked,.failed{background:#b00020}
code{font-size:.85em} small{color:#666;font-weight:normal}
figure{margin:1rem 0} figcaption{font-weight:600;margin-bottom:.3rem}
table.story td{width:25%} mark{background:#ffe58a}
"""


def render_html(summary: RunSummary) -> str:
    tables = summary.tables
    funnel = _table(["stage", "count"], [[k, v] for k, v in summary.funnel])
    timings = _table(["stage", "seconds"], [[k, f"{v:.2f}"] for k, v in summary.timings.items()])
    blocked = ""
    if summary.blocked_by:
        blocked = "<p><b>Blocked by:</b> " + ", ".join(_e(b) for b in summary.blocked_by) + "</p>"
    error = f"<pre>{_e(summary.error)}</pre>" if summary.error else ""
    if summary.status == "unchanged":  # not an error: the latest release already holds it all
        error = f"<p>{_e(summary.error)}</p>"
    docs = ""
    if summary.data_docs:
        docs = (f'<p>Great Expectations Data Docs for this run: <a href="data_docs/index.html">'
                f"data_docs/index.html</a></p>")
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>newsgate run {_e(summary.run_id)}</title>
<style>{CSS}</style></head><body>
<h1>newsgate run <code>{_e(summary.run_id)}</code>
 <span class="badge {_e(summary.status)}">{_e(summary.status)}</span></h1>
<p>Release: <b>{_e(summary.release_id or "none")}</b> · started {_e(summary.started_at)} ·
finished {_e(summary.finished_at)} · sources: {_e(", ".join(summary.sources))}</p>
{blocked}{error}
<h2>Funnel</h2>{funnel}
<h2>Gates</h2>{docs}{_gate_section(summary.gates)}
<h2>Cleaning: removed by rule</h2>{_removals_section(tables.get("removals"))}
<h2>Duplicate clusters</h2>{_clusters_section(tables.get("clusters"), tables.get("articles"))}
<h2>Story clusters</h2>{_stories_section(tables.get("stories"), tables.get("articles"))}
<h2>Extraction coverage</h2>{_coverage_section(tables)}
<h2>Charts</h2>{_charts_section(tables)}{_trends_section(tables)}
<h2>Quarantine</h2>{_quarantine_section(tables.get("quarantine"))}
<h2>Timings</h2>{timings}
</body></html>
"""


def _md_escape(value) -> str:
    return html.escape(str(value), quote=False).replace("|", "\\|").replace("\n", " ")


def render_markdown(summary: RunSummary) -> str:
    lines = [f"# newsgate run `{summary.run_id}`: **{summary.status}**", ""]
    if summary.release_id:
        lines.append(f"Release: `{summary.release_id}`")
    if summary.blocked_by:
        lines.append("Blocked by: " + ", ".join(_md_escape(b) for b in summary.blocked_by))
    if summary.status == "unchanged":
        lines.append(_md_escape(summary.error))
    lines += ["", "| stage | count |", "|---|---:|"]
    lines += [f"| {_md_escape(k)} | {v} |" for k, v in summary.funnel]
    lines += ["", "| table | status | failed checks | warnings | quarantined |", "|---|---|---:|---:|---:|"]
    for g in summary.gates:
        status = "fail" if not g.passed else ("warn" if g.warnings else "pass")
        lines.append(f"| {g.table} | {status} | {len(g.failed_errors)} | {len(g.warnings)} | {len(g.quarantine)} |")
    problems = [c for g in summary.gates for c in g.checks if not c.success]
    if problems:
        lines += ["", "## Checks that did not pass", ""]
        lines += [f"- **{c.status}** `{_md_escape(c.table)}.{_md_escape(c.check)}`: "
                  f"{_md_escape(c.description)} (observed: {_md_escape(c.observed)})" for c in problems]
    return "\n".join(lines) + "\n"


def gate_rows(gates: list[GateResult]) -> list[dict]:
    """One flat row per check, for a Prefect table artifact."""
    return [{"table": c.table, "engine": c.engine, "check": c.check, "severity": c.severity,
             "status": c.status, "observed": c.observed} for g in gates for c in g.checks]


def write_report(summary: RunSummary, run_dir: Path) -> Path:
    path = Path(run_dir) / "report.html"
    path.write_text(render_html(summary), encoding="utf-8")
    return path
