"""The run report: one self-contained HTML page (works offline) plus a markdown summary.

The first screen is a decision: the verdict, what needs attention (failed and warned checks,
quarantine by reason, low-confidence facts, each with a few sample rows and a file of all of
them), what changed since the previous release, then the funnel. Passing checks fold into one
line per table. Evidence is shown in place: facts in their sentence, removals with their line
and rule, near-duplicates side by side with the differences marked.

Every value from the data goes through `report_html.cell`/`esc` (escaped, missing values empty).
"""
from __future__ import annotations

import functools
import hashlib
import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from newsgate.tasks.gates import CheckResult, GateResult
from newsgate.tasks.stage import arrow_table, rows_of
from newsgate.tasks.report_changes import Changes, changes
from newsgate.tasks.report_html import (cell, details, esc, marked_all, marked_span, plain,
                                        side_by_side_diff, svg_bar_chart, table)

SAMPLES = 5               # sample rows per item that needs attention
SAMPLE_COLUMNS = 6        # columns a sample row shows (chosen, never whole rows)
SAMPLES_PER_RULE = 3
STORIES_SHOWN = 30        # largest story clusters shown side by side
MEMBERS_SHOWN = 4         # articles of one story shown side by side
EXCERPT_CHARS = 300
PAIRS_SHOWN = 10          # near-duplicate pairs shown side by side
ROWS_SHOWN = 100          # longer lists are cut here; the rows/ files hold all of them
ROWS_DIR = "rows"         # next to report.html: every row behind a "all N rows" link, as CSV
ACCEPTED = "accepted"     # a warned check a reviewer accepted (a waiver): shown, not hidden
# columns that say which row a sample is, in the order a reader looks for them
ID_COLUMNS = ["article_id", "project_id", "doc_id", "source", "title", "name", "person",
              "metric", "kind", "text", "evidence", "reason", "detail"]
FACT_LABELS = {"mentions": "text", "projects": "name", "indicators": "metric",
               "visits": "person"}  # the column that names a fact of each table


@dataclass
class RunSummary:
    run_id: str
    # "published" | "unchanged" | "blocked" | "awaiting review" | "rejected" | "locked" | "failed"
    status: str
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
    previous_release: str | None = None  # the release this run builds on
    previous_tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    review: dict | None = None  # the decision record (Verdict.record()), waivers included

    @property
    def n_warnings(self) -> int:
        return sum(len(g.warnings) for g in self.gates)

    @property
    def accepted(self) -> dict[str, dict]:
        """check id -> its waiver (who accepted it, when, why)."""
        return {w["check"]: w for w in (self.review or {}).get("waivers", [])}

    @functools.cached_property
    def doubtful(self) -> dict[str, pd.DataFrame]:
        """`low_confidence(tables)`, read once: the attention section and the rows/ files
        both show it (of a release, every fact table's `needs_review` rows)."""
        return low_confidence(self.tables)

    def state(self, check: CheckResult) -> str:
        """pass, fail, warn, or accepted (a warned check a reviewer accepted)."""
        return ACCEPTED if check.status == "warn" and check.id in self.accepted else check.status


def _slug(text: str) -> str:
    """A file name for `text` (a table, a reason): readable part + short hash (unique)."""
    readable = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")[:40] or "rows"
    return f"{readable}-{hashlib.sha256(text.encode()).hexdigest()[:6]}"


# ------------------------------------------------------------------ what needs attention

def _check_columns(check: CheckResult) -> list[str]:
    """The columns a check names (`expect_x(a/b)` -> a, b), then the identifying ones."""
    inside = re.search(r"\(([^)]*)\)", check.check)
    named = re.split(r"[/,]", inside.group(1)) if inside else []
    return [c for c in named if c] + ID_COLUMNS


def sample_rows(rows: list[dict] | pd.DataFrame, columns: list[str]) -> tuple[list[str], list[list]]:
    """At most SAMPLES rows and SAMPLE_COLUMNS of `columns` that the rows have (a whole body or
    document never: cells are cut by `cell`)."""
    records = rows.head(SAMPLES).to_dict("records") if isinstance(rows, pd.DataFrame) else rows[:SAMPLES]
    present = [c for c in dict.fromkeys(columns)
               if any(plain(r.get(c)) for r in records)][:SAMPLE_COLUMNS]  # empty columns say nothing
    return present, [[r.get(c) for c in present] for r in records]


def _more(href: str, text: str) -> str:
    """The link under an item: to all its rows, or to its table's checks."""
    return f'<p class="more"><a href="{esc(href)}">{esc(text)}</a></p>'


def _check_item(summary: RunSummary, check: CheckResult) -> str:
    state = summary.state(check)
    waiver = summary.accepted.get(check.id)
    note = (f"<p class=\"waiver\">accepted by {cell(waiver.get('reviewer'))} at "
            f"{cell(waiver.get('at'))}: {cell(waiver.get('comment'), None) or 'no comment'}</p>"
            if waiver else "")
    samples = ""
    if check.sample:
        cols, rows = sample_rows(check.sample, _check_columns(check))
        samples = table(cols, rows, "sample")
    return (f'<li class="{esc(state)}"><span class="state {esc(state)}">{esc(state)}</span> '
            f"<b>{esc(check.severity)}</b> <code>{esc(check.id)}</code>: {cell(check.description, None)}"
            f" <small>observed: {cell(check.observed, 200)}</small>{note}{samples}"
            f"{_more(f'#gate-{check.table}', f'all checks of {check.table}')}</li>")


# the columns the report reads of a run's release (tasks/reader.py: a view read lazily); the
# bodies it quotes are read by id, only of the articles it shows
READS = {"articles": ["article_id", "doc_id", "title", "published_date", "outlet"],
         "documents": ["doc_id", "source"], "mentions": ["article_id"], "indicators": ["article_id"],
         "projects": ["article_id", "status", "industry"],
         "keywords": ["article_id", "keyword", "weight"],
         "clusters": ["article_id", "is_canonical"],
         "stories": ["article_id", "story_id", "is_representative"]}


def low_confidence(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Per fact table, its rows marked `needs_review` (the extractor was not sure): of a run's
    release, only those rows are read."""
    out = {}
    for name in FACT_LABELS:
        doubtful = rows_of(tables, name, None, "needs_review", [True])
        if doubtful is not None and len(doubtful):
            out[name] = doubtful
    return out


def _fact_sentence(row, bodies: dict) -> str:
    body = bodies.get(row.get("article_id"))
    if isinstance(body, str) and not any(pd.isna(row.get(k)) for k in ("start", "end")):
        return marked_span(body, row["start"], row["end"])
    return cell(row.get("evidence") or row.get("text"))


class _ShownArticles:
    """The articles the report's sections show, read in one lookup (on a release view each
    lookup scans the release's bodies): every section says which it shows (`want`) before
    any section reads them (`by_id`: title, date and body, indexed by article_id)."""

    def __init__(self, tables):
        self.tables, self.ids, self._found = tables, set(), None

    def want(self, article_ids) -> None:
        if self._found is not None:
            raise RuntimeError("a section asked for articles after they were read")
        self.ids.update(article_ids)

    def by_id(self) -> pd.DataFrame:
        if self._found is None:
            columns = ["title", "published_date", "body"]
            found = rows_of(self.tables, "articles", ["article_id", *columns], "article_id", self.ids)
            found = pd.DataFrame(columns=["article_id"]) if found is None else found
            self._found = found.set_index("article_id").reindex(columns=columns)
        return self._found


def _facts_item(name: str, rows: pd.DataFrame, shown: pd.DataFrame, bodies: dict) -> str:
    sample = [[r.get(FACT_LABELS[name]), r.get("pattern"), r.get("confidence"),
               _fact_sentence(r, bodies)] for r in shown.to_dict("records")]
    link = f"{ROWS_DIR}/low-confidence-{name}.csv"
    return (f'<li class="warn"><span class="state warn">review</span> <b>{len(rows):,}</b> '
            f"low-confidence {esc(name)} rows (<code>needs_review</code>), least sure first"
            + table([FACT_LABELS[name], "pattern", "confidence", "sentence (span marked)"], sample,
                    "sample", raw={3})
            + f"{_more(link, f'all {len(rows):,} rows (CSV)')}</li>")


def quarantine_groups(quarantine: pd.DataFrame | None) -> list[tuple[str, pd.DataFrame]]:
    """Quarantined rows by reason, the largest group first."""
    if quarantine is None or not len(quarantine):
        return []
    groups = quarantine.fillna({"reason": "no reason given"}).groupby("reason", sort=False)
    return sorted(groups, key=lambda g: (-len(g[1]), g[0]))


def _quarantine_item(reason: str, rows: pd.DataFrame) -> str:
    cols, sample = sample_rows(rows, ["stage", "source", "doc_id", "detail"])
    return (f'<li class="warn"><span class="state warn">quarantine</span> <b>{len(rows):,}</b> '
            f"rows quarantined: {cell(reason, None)}{table(cols, sample, 'sample')}"
            f"{_more(f'{ROWS_DIR}/quarantine-{_slug(reason)}.csv', f'all {len(rows):,} rows (CSV)')}</li>")


def _attention_section(summary: RunSummary, articles: _ShownArticles) -> Callable[[], str]:
    checks = [c for g in summary.gates for c in g.checks if not c.success]
    checks.sort(key=lambda c: (c.status != "fail", summary.state(c) == ACCEPTED))
    groups = quarantine_groups(summary.tables.get("quarantine"))
    doubtful = summary.doubtful
    items = [_check_item(summary, c) for c in checks]
    items += [_quarantine_item(r, rows) for r, rows in groups]
    shown = {n: rows.sort_values("confidence").head(SAMPLES) for n, rows in doubtful.items()}
    articles.want(a for sample in shown.values() for a in sample["article_id"])

    def render() -> str:
        bodies = articles.by_id()["body"].to_dict() if doubtful else {}
        facts = [_facts_item(n, rows, shown[n], bodies) for n, rows in doubtful.items()]
        return _attention_list(summary, checks, groups, doubtful, items + facts)
    return render


def _attention_list(summary: RunSummary, checks, groups, doubtful, items: list[str]) -> str:
    if not items:
        return ('<section id="attention"><h2>Needs attention</h2><p>Nothing: every check passed, '
                "nothing quarantined, no low-confidence facts.</p></section>")
    states = [summary.state(c) for c in checks]
    overview = " · ".join(part for part in (
        f"{states.count('fail')} failed checks" if "fail" in states else "",
        f"{states.count('warn')} warned checks" if "warn" in states else "",
        f"{states.count(ACCEPTED)} accepted" if ACCEPTED in states else "",
        f"{sum(len(r) for _, r in groups):,} quarantined rows ({len(groups)} reasons)" if groups else "",
        f"{sum(len(r) for r in doubtful.values()):,} low-confidence facts" if doubtful else "") if part)
    return (f'<section id="attention"><h2>Needs attention ({len(items)})</h2><p>{esc(overview)}</p>'
            f'<ol class="attention">{"".join(items)}</ol></section>')


def row_files(summary: RunSummary) -> dict[str, pd.DataFrame]:
    """Every file an "all N rows" link of the report points at: relative path -> rows."""
    files = {f"{ROWS_DIR}/quarantine-{_slug(r)}.csv": rows
             for r, rows in quarantine_groups(summary.tables.get("quarantine"))}
    files.update({f"{ROWS_DIR}/low-confidence-{n}.csv": rows
                  for n, rows in summary.doubtful.items()})
    duplicates = _duplicates(summary.tables)
    if duplicates is not None and len(duplicates):
        files[f"{ROWS_DIR}/duplicates.csv"] = duplicates
    return files


def _duplicates(tables) -> pd.DataFrame | None:
    """The non-canonical cluster rows, every column (a filter in the scan of a run's release)."""
    return rows_of(tables, "clusters", None, "is_canonical", [False])


# ------------------------------------------------------------------ verdict and changes

def _verdict(summary: RunSummary) -> str:
    n_fail = sum(len(g.failed_errors) for g in summary.gates)
    review = summary.review or {}
    who = f" by {esc(review.get('by'))}" if review.get("by") else ""
    why = f": {cell(review.get('comment'), None)}" if review.get("comment") else ""
    accepted = (f"; {len(summary.accepted)} warned checks accepted" if summary.accepted else "")
    text = {
        "published": f"Published as release <b>{esc(summary.release_id)}</b>."
                     + (f" Review: {esc(review.get('decision'))}{who}{why}{accepted}." if review else ""),
        "unchanged": f"Nothing new: release <b>{esc(summary.release_id)}</b> already holds it all.",
        "blocked": f"Blocked: {n_fail} critical checks failed; nothing was published.",
        "awaiting review": (f"Awaiting review: {summary.n_warnings} warnings. Accept a warned check "
                            "with <code>newsgate review accept CHECK --comment \"…\"</code> before "
                            "answering the prompt or resuming the run."),
        "rejected": f"Rejected{who}{why}; nothing was published{accepted}.",
        "locked": "Another run holds the output folder; nothing was touched.",
    }.get(summary.status, "Failed; nothing was published.")
    return (f'<section id="verdict"><p class="verdict"><span class="badge '
            f'{esc(summary.status.split()[0])}">{esc(summary.status)}</span> {text}</p></section>')


def _changes_section(found: Changes | None, tables: dict) -> str:
    if found is None:
        return ('<section id="changes"><h2>Changes</h2><p>No previous release: this is the '
                "first one, nothing to compare with.</p></section>")
    rows = [[t, d["added"], d["removed"], d["changed"], d["unchanged"]]
            for t, d in found.rows.items() if d["added"] or d["removed"] or d["changed"]]
    parts = [f'<section id="changes"><h2>Changes since release '
             f"<code>{esc(found.previous_release)}</code></h2>"]
    parts.append(table(["table", "added", "removed", "changed", "unchanged"], rows)
                 if rows else "<p>No table changed.</p>")
    named = ", ".join(plain(s, 60) for s in found.new_sources[:SAMPLES])
    more = f" and {len(found.new_sources) - SAMPLES:,} more" if len(found.new_sources) > SAMPLES else ""
    listed = f": {esc(named)}{more}" if named else ""
    parts.append(f"<p><b>{len(found.new_sources):,} new sources</b>{listed}</p>")
    if len(found.clusters):
        top = found.clusters.head(SAMPLES)
        titles = _titles(tables, top["canonical_id"])
        parts.append(f"<p><b>{len(found.clusters):,} duplicate clusters new or grown</b>, "
                     "largest growth first:</p>")
        parts.append(table(["cluster", "canonical title", "articles before", "now"],
                           [[r.cluster_id, titles.get(r.canonical_id), r.before, r.now]
                            for r in top.itertuples()]))
    if len(found.regions):
        parts.append("<p><b>Largest changes in region investment totals</b> (亿元):</p>")
        parts.append(table(["region", "before", "now", "change"],
                           [[r.region, r.before / 1e8, r.now / 1e8, r.change / 1e8]
                            for r in found.regions.itertuples()]))
    return "".join(parts) + "</section>"


def _titles(tables: dict, article_ids) -> dict:
    found = rows_of(tables, "articles", ["article_id", "title"], "article_id", article_ids)
    return {} if found is None else dict(zip(found["article_id"], found["title"]))


# ------------------------------------------------------------------ gates, evidence, charts

def _gate_section(summary: RunSummary) -> str:
    parts = []
    for gate in summary.gates:
        states = [summary.state(c) for c in gate.checks]
        counts = " · ".join(f"{states.count(s)} {s}" for s in ("fail", "warn", ACCEPTED, "pass")
                            if states.count(s))
        worst = next((s for s in ("fail", "warn", ACCEPTED) if s in states), "pass")
        rows = []
        for c, state in zip(gate.checks, states):
            rows.append(f'<tr class="{esc(state)}"><td>{esc(state)}</td><td>{esc(c.severity)}</td>'
                        f"<td>{esc(c.engine)}</td><td><code>{esc(c.check)}</code></td>"
                        f"<td>{cell(c.description, None)}{_params(c)}</td>"
                        f"<td>{cell(c.observed, 200)}</td></tr>")
        head = (f'<span class="state {esc(worst)}">{esc(worst)}</span> <b>{esc(gate.table)}</b>: '
                f"{esc(counts)} <small>({cell(gate.rows_in)} rows in, {cell(gate.rows_out)} kept, "
                f"{cell(len(gate.quarantine))} quarantined)</small>")
        body = ("<table><thead><tr><th>state</th><th>severity</th><th>engine</th><th>check</th>"
                "<th>rule</th><th>observed</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")
        parts.append(f'<div id="gate-{esc(gate.table)}">{details(head, body, open_=worst == "fail")}</div>')
    return "".join(parts)


def _params(check: CheckResult) -> str:
    return f"<br><small>{cell(check.params, 200)}</small>" if check.params else ""


def _removals_section(tables) -> str:
    """Per rule: how much it removed, and its first lines as they were (line number, document).
    Counted in Arrow over the release's removals (no frame of them)."""
    removals = arrow_table(tables, "removals", ["doc_id", "line_no", "rule", "text"], ordered=True)
    if removals is None or not removals.num_rows:
        return "<p>Nothing was removed.</p>"
    stats = pa.table({"rule": removals["rule"], "n": pc.utf8_length(removals["text"])}).group_by(
        "rule").aggregate([("n", "count"), ("n", "sum")]).sort_by(
        [("n_sum", "descending"), ("rule", "ascending")])
    rows = []
    for rule, count, total in zip(*(stats[c].to_pylist() for c in ("rule", "n_count", "n_sum"))):
        lines = removals.filter(pc.equal(removals["rule"], rule)).slice(0, SAMPLES_PER_RULE)
        shown = "".join(f"<li><small>{cell(r['doc_id'], 24)} line {cell(r['line_no'])}</small> "
                        f"{cell(r['text'], 160)}</li>" for r in lines.to_pylist())
        rows.append([rule, int(count), int(total or 0), f"<ul>{shown}</ul>"])
    return table(["rule", "lines", "characters", "removed lines (document, line number)"], rows,
                 raw={3})


def _clusters_section(tables, articles: _ShownArticles) -> Callable[[], str]:
    """The least similar near-duplicates side by side, and the first duplicates: only the
    non-canonical rows are read."""
    n_clustered = _rows(tables, "clusters")
    if not n_clustered:
        return lambda: "<p>No clusters.</p>"
    dups = _duplicates(tables)
    if dups is None or dups.empty:
        return lambda: f"<p>{n_clustered} articles, no duplicates.</p>"
    near = dups[dups["kind"] == "near"].sort_values("similarity").head(PAIRS_SHOWN)
    shown = dups.head(ROWS_SHOWN)
    articles.want({*near["canonical_id"], *near["article_id"], *shown["canonical_id"], *shown["article_id"]})
    return lambda: _clusters_html(dups, near, shown, articles.by_id())


def _clusters_html(dups: pd.DataFrame, near: pd.DataFrame, shown: pd.DataFrame, by_id: pd.DataFrame) -> str:
    pairs = []
    for r in near.itertuples():
        if r.canonical_id not in by_id.index or r.article_id not in by_id.index:
            continue
        a, b = (str(by_id.at[i, "body"] or "")[:EXCERPT_CHARS] for i in (r.canonical_id, r.article_id))
        left, right = side_by_side_diff(a, b)
        pairs.append(details(
            f"{cell(by_id.at[r.canonical_id, 'title'], 60)} ⇄ {cell(by_id.at[r.article_id, 'title'], 60)} "
            f"<small>similarity {cell(float(r.similarity))}</small>",
            f'<table class="pair"><tr><th>canonical {esc(r.canonical_id)}</th><th>duplicate '
            f"{esc(r.article_id)}</th></tr><tr><td>{left}…</td><td>{right}…</td></tr></table>"))
    rows = [[r.canonical_id, by_id["title"].get(r.canonical_id), r.article_id,
             by_id["title"].get(r.article_id), r.kind, float(r.similarity)] for r in shown.itertuples()]
    intro = (f"<p>{len(dups):,} duplicates; the {len(pairs)} least similar near-duplicates side by "
             "side, what differs <del>struck</del> in the canonical and <ins>underlined</ins> in "
             f'the copy; <a href="{ROWS_DIR}/duplicates.csv">all {len(dups):,} rows (CSV)</a>.</p>')
    return intro + "".join(pairs) + table(
        ["canonical", "canonical title", "duplicate", "duplicate title", "kind", "similarity"], rows)


def _stories_section(tables, articles: _ShownArticles) -> Callable[[], str]:
    """Stories that join more than one copy cluster, largest first: one article of each cluster
    side by side (title, date, how it joined and why, the start of its text), shared figures
    marked. Copies inside a cluster are in the duplicate clusters above. Counted in Arrow over
    four columns; only the rows of the stories shown are read whole."""
    stories = arrow_table(tables, "stories", ["article_id", "story_id", "cluster_id", "matched_id"])
    if stories is None or not stories.num_rows:
        return lambda: "<p>No stories.</p>"
    n_stories = pc.count_distinct(stories["story_id"]).as_py()
    matched_cluster = pc.take(stories["cluster_id"],
                              pc.index_in(stories["matched_id"], value_set=stories["article_id"]))
    in_cluster_copy = pc.fill_null(pc.equal(matched_cluster, stories["cluster_id"]), False)
    members = stories.filter(pc.invert(in_cluster_copy))
    counts = members.group_by("story_id").aggregate([("story_id", "count")])
    counts = counts.filter(pc.greater(counts["story_id_count"], 1)).sort_by(
        [("story_id_count", "descending"), ("story_id", "ascending")])
    if not counts.num_rows:
        return lambda: f"<p>{n_stories} stories; none joins two copy clusters.</p>"
    shown = dict(zip(counts["story_id"].to_pylist()[:STORIES_SHOWN],
                     counts["story_id_count"].to_pylist()[:STORIES_SHOWN]))
    rows_of_shown = rows_of(tables, "stories", None, "story_id", list(shown))
    sizes = rows_of_shown["story_id"].value_counts()
    shown_members = rows_of_shown[rows_of_shown["article_id"].isin(
        pc.filter(members["article_id"], pc.is_in(members["story_id"],
                                                  value_set=pa.array(list(shown)))).to_pylist())]
    articles.want(shown_members["article_id"])
    return lambda: _stories_html(counts, n_stories, shown, sizes, shown_members, articles.by_id())


def _stories_html(counts: pa.Table, n_stories: int, shown: dict, sizes: pd.Series,
                  shown_members: pd.DataFrame, by_id: pd.DataFrame) -> str:
    parts = [f"<p>{counts.num_rows} of {n_stories} stories join more than one copy "
             f"cluster; the {len(shown)} largest, shared figures "
             f"<mark>marked</mark>:</p>"]
    for story_id, n_clusters in shown.items():
        rows = shown_members[shown_members["story_id"] == story_id].sort_values(
            ["is_representative", "score"], ascending=False).head(MEMBERS_SHOWN)
        figures = [f for fs in rows["shared_figures"] for f in (list(fs) if fs is not None else [])]
        cells = []
        for r in rows.itertuples():
            title = body = date = None
            if r.article_id in by_id.index:
                title, date = by_id.at[r.article_id, "title"], by_id.at[r.article_id, "published_date"]
                body = plain(by_id.at[r.article_id, "body"], None)[:EXCERPT_CHARS]
            cells.append(
                f"<td><b>{cell(title)}</b><br><small>{cell(r.article_id)} · {cell(date)} · "
                f"{cell(r.relation)} {float(r.score):.2f}</small><br><small>{cell(r.evidence)}</small>"
                f"<p>{marked_all(body or '', figures)}…</p></td>")
        parts.append(details(f"{esc(story_id)}: {int(sizes[story_id])} articles, {int(n_clusters)} copy clusters",
                             f"<table class=\"story\"><tr>{''.join(cells)}</tr></table>"))
    return "".join(parts)


def _coverage_section(tables) -> str:
    """Rows and articles with rows per fact table, counted in Arrow over article_id only."""
    if "articles" not in tables:
        return ""
    flags = arrow_table(tables, "clusters", ["is_canonical"])
    n_canonical = 0 if flags is None else int(pc.sum(pc.cast(flags["is_canonical"], pa.int64())).as_py() or 0)
    rows = []
    for name in ("mentions", "projects", "indicators", "visits", "keywords"):
        ids = arrow_table(tables, name, ["article_id"])
        if ids is None:
            continue
        rows.append([name, ids.num_rows, pc.count_distinct(ids["article_id"]).as_py(), n_canonical])
    return table(["table", "rows", "articles with rows", "canonical articles"], rows)


def _rows(tables, name: str) -> int:
    """Rows of a table of the release (a run's view counts the previous ones by key)."""
    if name not in tables:
        return 0
    return tables.count(name) if hasattr(tables, "count") else len(tables[name])


def _charts_section(tables, limit: int = 12) -> str:
    parts = []
    stats = tables.get("region_stats")
    if stats is not None and len(stats):
        by_region = (stats.groupby("region_full")["investment_yuan_total"].sum() / 1e8) \
            .sort_values(ascending=False).head(limit)
        by_region = by_region[by_region > 0]
        parts.append(svg_bar_chart("Investment by region (亿元)", list(by_region.index),
                                   [float(v) for v in by_region.values]))
    for col, title in (("status", "Projects by status"), ("industry", "Projects by industry")):
        values = arrow_table(tables, "projects", [col])
        if values is None or not values.num_rows:
            break
        counts = pc.value_counts(pc.fill_null(values[col], "unknown"))
        top = sorted(zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist()),
                     key=lambda vc: (-vc[1], vc[0]))[:limit]
        parts.append(svg_bar_chart(title, [v for v, _ in top], [int(n) for _, n in top]))
    keywords = arrow_table(tables, "keywords", ["keyword", "weight"])
    if keywords is not None and keywords.num_rows:
        top = keywords.group_by("keyword").aggregate([("weight", "sum")]).sort_by(
            [("weight_sum", "descending"), ("keyword", "ascending")]).slice(0, limit)
        parts.append(svg_bar_chart("Top keywords (summed weight)", top["keyword"].to_pylist(),
                                   [float(v) for v in top["weight_sum"].to_pylist()]))
    return "".join(parts) or "<p>No aggregates to chart.</p>"


def _trends_section(tables: dict[str, pd.DataFrame], per_period: int = 8) -> str:
    """Keyword trends by year (canonical articles only) and the visits timeline."""
    from newsgate.tasks.aggregate import keyword_trends, visits_timeline

    parts = []
    keywords = arrow_table(tables, "keywords", ["article_id", "keyword", "weight"])
    if keywords is not None and keywords.num_rows and "articles" in tables:
        # the release's columns as Arrow: joined and counted there, never as frames
        trends = keyword_trends(keywords, arrow_table(tables, "articles", ["article_id", "published_date"]),
                                arrow_table(tables, "clusters", ["article_id", "is_canonical"]),
                                stories=arrow_table(tables, "stories",
                                                    ["article_id", "story_id", "is_representative"]))
        top = trends[trends["rank"] <= per_period]
        rows = [[period if isinstance(period, str) else "date unknown",
                 "、".join(f"{k} ({n})" for k, n in zip(g["keyword"], g["n_articles"]))]
                for period, g in top.groupby("period", dropna=False, sort=True)]
        parts.append("<h3>Keyword trends by year</h3>" + table(["year", "top keywords (articles)"], rows))
    visits = tables.get("visits")
    if visits is not None and len(visits):
        dates = rows_of(tables, "articles", ["article_id", "published_date"], "article_id",
                        visits["article_id"])
        timeline = visits_timeline(visits, dates)
        rows = [[r.date, r.person, r.title, r.place, r.evidence]
                for r in timeline.head(ROWS_SHOWN).itertuples()]
        more = (f"<p>The first {ROWS_SHOWN} of {len(timeline):,} visits.</p>"
                if len(timeline) > ROWS_SHOWN else "")
        parts.append("<h3>Visits timeline</h3>" + more
                     + table(["date", "person", "title", "place", "evidence"], rows))
    return "".join(parts)


def _data_docs_link(summary: RunSummary) -> str:
    """GX's own pages of the same results: they load GX's scripts and styles from CDNs, so
    they need a network; everything they show is in this report too."""
    if not summary.data_docs:
        return ""
    return (' The same results as GX Data Docs (they need a network for GX\'s scripts and '
            'styles): <a href="data_docs/index.html">data_docs/index.html</a>.')


def _funnel_section(summary: RunSummary) -> str:
    labels = [k for k, _ in summary.funnel]
    return svg_bar_chart("Documents and rows through the stages", labels,
                         [int(v) for _, v in summary.funnel])


CSS = """
body{font-family:system-ui,-apple-system,"Noto Sans CJK SC",sans-serif;margin:1.2rem 2rem;color:#222;
max-width:1200px}
h1{font-size:1.4rem;margin:.2rem 0} h2{font-size:1.15rem;margin:1.2rem 0 .4rem}
table{border-collapse:collapse;margin:.4rem 0 1rem;font-size:.85rem;width:100%;table-layout:auto}
th,td{border:1px solid #ddd;padding:.25rem .45rem;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{background:#f4f4f4} tr.fail td{background:#fde2e1} tr.warn td{background:#fff5d6}
tr.accepted td{background:#e8f0fe}
.state{display:inline-block;min-width:4.5rem;text-align:center;border-radius:.2rem;font-size:.8rem;padding:0 .3rem}
.state.fail{background:#b00020;color:#fff}.state.warn{background:#f2c94c}.state.accepted{background:#8ab4f8}
.state.pass{background:#1b7f3b;color:#fff}
.badge{display:inline-block;padding:.2rem .6rem;border-radius:.3rem;color:#fff;background:#666}
.published,.unchanged{background:#1b7f3b}.blocked,.failed,.rejected,.locked{background:#b00020}
.badge.awaiting{background:#8a6d00}
.verdict{font-size:1.1rem} ol.attention{padding-left:1.4rem} ol.attention li{margin:.3rem 0 .6rem}
table.sample{font-size:.8rem;margin:.2rem 0} .waiver{margin:.2rem 0;color:#1a4d8f}
code{font-size:.85em} small{color:#666;font-weight:normal}
figure{margin:.5rem 0} figcaption{font-weight:600;margin-bottom:.3rem}
table.story td{width:25%} table.pair td{width:50%} mark{background:#ffe58a}
del{background:#fde2e1} ins{background:#d7f5dd} p.more{margin:.1rem 0 .4rem;font-size:.85rem}
details{margin:.2rem 0} summary{cursor:pointer}
"""


def render_html(summary: RunSummary) -> str:
    tables = summary.tables
    articles = _ShownArticles(tables)  # what the sections below show, read once
    attention = _attention_section(summary, articles)
    clusters, stories = _clusters_section(tables, articles), _stories_section(tables, articles)
    found = changes(summary.previous_release, summary.previous_tables, tables)
    timings = table(["stage", "seconds"], [[k, v] for k, v in summary.timings.items()])
    blocked = ""
    if summary.blocked_by:
        blocked = "<p><b>Blocked by:</b> " + ", ".join(esc(b) for b in summary.blocked_by) + "</p>"
    error = f"<pre>{esc(summary.error)}</pre>" if summary.error else ""
    if summary.status == "unchanged":  # not an error: the latest release already holds it all
        error = f"<p>{esc(summary.error)}</p>"
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>newsgate run {esc(summary.run_id)}</title>
<style>{CSS}</style></head><body>
<h1>newsgate run <code>{esc(summary.run_id)}</code></h1>
<p><small>Release: <b>{esc(summary.release_id or "none")}</b> · previous:
{esc(summary.previous_release or "none")} · started {esc(summary.started_at)} · finished
{esc(summary.finished_at)} · sources: {cell(", ".join(summary.sources), 200)}</small></p>
{_verdict(summary)}{blocked}
{attention()}
{_changes_section(found, tables)}
<section id="funnel"><h2>Funnel</h2>{_funnel_section(summary)}</section>
<section id="gates"><h2>Gates</h2><p><small>One line per table; click for every check.{_data_docs_link(summary)}</small></p>
{_gate_section(summary)}</section>
{error}
<h2>Cleaning: removed by rule</h2>{_removals_section(tables)}
<h2>Duplicate clusters</h2>{clusters()}
<h2>Story clusters</h2>{stories()}
<h2>Extraction coverage</h2>{_coverage_section(tables)}
<h2>Charts</h2>{_charts_section(tables)}{_trends_section(tables)}
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
        lines += [f"- **{summary.state(c)}** `{_md_escape(c.id)}`: "
                  f"{_md_escape(c.description)} (observed: {_md_escape(c.observed)})" for c in problems]
    return "\n".join(lines) + "\n"


def gate_rows(gates: list[GateResult]) -> list[dict]:
    """One flat row per check, for a Prefect table artifact."""
    return [{"table": c.table, "engine": c.engine, "check": c.check, "severity": c.severity,
             "status": c.status, "observed": c.observed} for g in gates for c in g.checks]


def write_csv(rows: pd.DataFrame, path: Path) -> None:
    """`rows` as CSV, written by Arrow's C++ writer (a release's low-confidence facts are
    hundreds of thousands of rows: pandas' writer takes ~10x as long); quoted only where a
    value needs it. A column Arrow cannot type (mixed Python objects) is written by pandas."""
    try:
        arrow = pa.Table.from_pandas(rows, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        rows.to_csv(path, index=False)
        return
    pa_csv.write_csv(arrow, path, pa_csv.WriteOptions(quoting_style="needed"))


def write_report(summary: RunSummary, run_dir: Path) -> Path:
    """report.html and the rows/ files its links point at."""
    path = Path(run_dir) / "report.html"
    for name, rows in row_files(summary).items():
        (path.parent / name).parent.mkdir(parents=True, exist_ok=True)
        write_csv(rows, path.parent / name)
    path.write_text(render_html(summary), encoding="utf-8")
    return path
