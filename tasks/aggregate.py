"""Aggregates over canonical articles: region statistics, keyword trends, visits timeline.

    region_stats(articles, clusters, mentions, projects, stories=None) -> DataFrame
    reconcile(region_stats, projects) -> list[str]            (for the gate: totals == detail sums)
    keyword_trends(keywords, articles, clusters=None, period="year", stories=None) -> DataFrame
    visits_timeline(visits, articles=None) -> DataFrame

Decisions (see docs/EXTRACTION.md and README "Which level each aggregate counts"):
- Facts exist for canonical articles only (clusters.is_canonical; with no clusters every
  article counts). Article counts (n_articles) count **stories**: the canonical articles of one
  story (a rewrite, a condensed version, another report of the same event) count once, in the
  year of the story's representative (its earliest report). Without a stories table each copy
  cluster is its own story.
- year = the first four characters of published_date; articles without one get year null
  ("unknown"), kept as their own group rather than dropped, so totals still reconcile.
- A region counts an article once if the article mentions it or any place inside it
  (吉林省辽源市西安区 counts for 西安区, 辽源市 and 吉林省).
- A project counts once per year: rows with the same folded name and place (a source listing it
  twice, or two stories about it) are one project; its investment is the largest stated one.
  A project counts for its own region and every enclosing one (county -> city -> province).
- level is the admin level of the region (province | city | county | other).
"""
from __future__ import annotations

import functools
import re

import pandas as pd

from newsgate.tasks.extract.places import Region, gazetteer
from newsgate.tasks.stage import Stage, among, plain_strings, rows_of

REGION_COLUMNS = ["region_full", "admin_code", "level", "year", "n_articles", "n_projects",
                  "investment_yuan_total", "n_projects_with_investment"]
WS = re.compile(r"\s+")


def _year(published) -> str | None:
    if isinstance(published, str) and re.match(r"^\d{4}", published):
        return published[:4]
    return None


def _lists(frame: pd.DataFrame, *columns: str) -> list[list]:
    """The columns as Python lists (converted at once: iterating an Arrow-backed column
    boxes one value at a time, seconds over a 200k-article release); a missing column: []."""
    return [frame[c].tolist() if c in frame else [] for c in columns]


def _arrow(frame, columns: list[str]):
    """`columns` of a frame or an Arrow table as Arrow (text as plain strings, `plain_strings`);
    None for a missing or empty one, or one without the columns."""
    import pyarrow as pa
    if frame is None or not len(frame):
        return None
    names = frame.column_names if isinstance(frame, pa.Table) else list(frame.columns)
    if any(c not in names for c in columns):
        return None
    if not isinstance(frame, pa.Table):
        frame = pa.Table.from_pandas(frame[columns].astype(object), preserve_index=False)
    frame = frame.select(columns)
    return frame.cast(plain_strings(frame.schema))


def unit_table(articles, clusters=None, stories=None, width: int = 4):
    """Canonical article -> the story it counts for, and that story's period, as an Arrow table
    (article_id, story, period): the story id and the first `width` characters of its
    representative's published_date; without `stories` (or for an article it lacks) the
    article is its own story, in its own period. Frames or Arrow tables in; joined in Arrow
    (a release's articles never become Python objects)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    own = _arrow(articles, ["article_id", "published_date"])
    if own is None:
        return pa.table({c: pa.array([], pa.string()) for c in ("article_id", "story", "period")})
    date = own["published_date"]
    period = pc.if_else(pc.greater_equal(pc.utf8_length(date), width),
                        pc.utf8_slice_codeunits(date, 0, width), pa.scalar(None, pa.string()))
    periods = units = pa.table({"article_id": own["article_id"], "period": period})
    flags = _arrow(clusters, ["article_id", "is_canonical"])
    if flags is not None:  # canonical, or in no copy cluster
        canonical = flags.filter(pc.fill_null(flags["is_canonical"].cast(pa.bool_()), False))
        keep = pc.or_(pc.is_in(units["article_id"], value_set=canonical["article_id"]),
                      pc.invert(pc.is_in(units["article_id"], value_set=flags["article_id"])))
        units = units.filter(keep)
    members = _arrow(stories, ["article_id", "story_id", "is_representative"])
    if members is None:
        return pa.table({"article_id": units["article_id"], "story": units["article_id"],
                         "period": units["period"]})
    reps = members.filter(pc.fill_null(members["is_representative"].cast(pa.bool_()), False))
    story_period = reps.select(["story_id", "article_id"]).join(  # one representative a story
        periods.rename_columns(["article_id", "story_period"]), "article_id", join_type="left outer",
        use_threads=False).group_by("story_id", use_threads=False).aggregate([("story_period", "last")])
    joined = units.join(members.select(["article_id", "story_id"]), "article_id", join_type="left outer") \
        .join(story_period.rename_columns(["story_id", "story_period"]), "story_id", join_type="left outer")
    in_story = pc.is_valid(joined["story_id"])
    return pa.table({"article_id": joined["article_id"],
                     "story": pc.if_else(in_story, joined["story_id"], joined["article_id"]),
                     "period": pc.if_else(in_story, joined["story_period"], joined["period"])})


def counting_units(articles, clusters=None, stories=None, width: int = 4) -> dict[str, tuple[str, str | None]]:
    """`unit_table` as {article_id: (story, period)}."""
    units = unit_table(articles, clusters, stories, width)
    return dict(zip(units["article_id"].to_pylist(),
                    zip(units["story"].to_pylist(), units["period"].to_pylist())))


@functools.lru_cache(maxsize=None)  # a few thousand places, asked for once per mention
def _ancestors(full: str | None) -> tuple[Region, ...]:
    """The region and every region that contains it, smallest first (unknown names: itself only)."""
    if not full:
        return ()
    gaz = gazetteer().by_full
    region = gaz.get(full)
    if region is None:
        return (Region(full, full, None, "other", full, None),)
    chain = [region]
    if region.city and region.city != region.full and region.city in gaz:
        chain.append(gaz[region.city])
    if region.level != "province" and region.province in gaz:
        chain.append(gaz[region.province])
    return tuple(chain)


def _unique_projects(projects: pd.DataFrame) -> pd.DataFrame:
    """One row per (year, place_full, folded name); the largest stated investment."""
    if projects.empty:
        return projects.assign(key_name=[])
    df = projects.copy()
    if "year" not in df:
        df["year"] = None
    df["key_name"] = df["name"].map(lambda s: WS.sub("", s or ""))
    df["year_key"] = df["year"].fillna("\x00")
    df["place_key"] = df["place_full"].fillna("\x00")
    agg = df.groupby(["year_key", "place_key", "key_name"], as_index=False, sort=False).agg(
        investment_yuan=("investment_yuan", "max"), place_full=("place_full", "first"),
        year=("year", "first"))
    return agg


def _project_totals(projects: pd.DataFrame) -> dict[tuple[str, str | None], list]:
    """{(region_full, year): [n_projects, investment_total, n_with_investment]} with roll-up."""
    totals: dict[tuple[str, str | None], list] = {}
    for row in _unique_projects(projects).itertuples():
        year = row.year if isinstance(row.year, str) else None
        inv = row.investment_yuan if pd.notna(row.investment_yuan) else None
        for region in _ancestors(row.place_full if isinstance(row.place_full, str) else None):
            t = totals.setdefault((region.full, year), [0, 0.0, 0])
            t[0] += 1
            if inv is not None:
                t[1] += float(inv)
                t[2] += 1
    return totals


def region_stats(articles: pd.DataFrame, clusters: pd.DataFrame | None, mentions: pd.DataFrame,
                 projects: pd.DataFrame, stories: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per region and year: stories mentioning it (n_articles: each story once), projects and
    their investment (each project once). `stories` as tasks/stories.py builds it; without it
    every copy cluster is one story."""
    units = counting_units(articles, clusters, stories)
    keep = set(units)
    year_of = {a: _year(p) for a, p in zip(*_lists(articles, "article_id", "published_date"))}
    counts: dict[tuple[str, str | None], set] = {}
    regions: dict[str, Region] = {}
    places = mentions[(mentions["kind"] == "place").to_numpy() & among(mentions["article_id"], keep)] \
        if not mentions.empty else mentions
    for aid, full in set(zip(*_lists(places, "article_id", "normalized"))):
        story, year = units[aid]
        for region in _ancestors(full):
            regions[region.full] = region
            counts.setdefault((region.full, year), set()).add(story)
    proj = projects[among(projects["article_id"], keep)].copy() if not projects.empty else projects.copy()
    if not proj.empty:  # the article's year as of now; the extracted `year` only if it is not in the batch
        own = proj["year"] if "year" in proj else pd.Series(None, index=proj.index, dtype=object)
        proj["year"] = [year_of[a] if a in year_of else y
                        for a, y in zip(proj["article_id"].tolist(), own.tolist())]
    totals = _project_totals(proj) if not proj.empty else {}
    for full, _ in totals:
        for region in _ancestors(full):
            regions.setdefault(region.full, region)
    rows = []
    for key in sorted(set(counts) | set(totals), key=lambda k: (k[0], k[1] or "")):
        full, year = key
        region = regions.get(full) or _ancestors(full)[0]
        n, inv, n_inv = totals.get(key, [0, 0.0, 0])
        rows.append(dict(region_full=full, admin_code=region.code, level=region.level, year=year,
                         n_articles=len(counts.get(key, ())), n_projects=n,
                         investment_yuan_total=float(inv), n_projects_with_investment=n_inv))
    df = pd.DataFrame(rows, columns=REGION_COLUMNS)
    for col in ("n_articles", "n_projects", "n_projects_with_investment"):
        df[col] = df[col].astype("int64")
    df["investment_yuan_total"] = df["investment_yuan_total"].astype("float64")
    return df


# the projects columns `reconcile` reads (table-wide checks read only these)
RECONCILE_COLUMNS = ["name", "year", "place_full", "investment_yuan"]


def reconcile(region_stats: pd.DataFrame, projects: pd.DataFrame) -> list[str]:
    """Discrepancies between region_stats and the project rows it summarises (empty = consistent).

    Checks: every (region, year) total equals the sum recomputed from `projects` (which must be
    the canonical projects, with a `year` column or none); every project region appears; a parent
    region never has fewer projects or less investment than one of its children.
    """
    problems: list[str] = []
    if "year" not in projects and not region_stats.empty and region_stats["year"].notna().any():
        stats = region_stats.groupby("region_full", as_index=False)[
            ["n_projects", "investment_yuan_total"]].sum()
        stats["year"] = None
    else:
        stats = region_stats
    expected = _project_totals(projects) if not projects.empty else {}
    seen = set()
    for row in stats.itertuples():
        year = row.year if isinstance(row.year, str) else None
        key = (row.region_full, year)
        seen.add(key)
        n, inv, _ = expected.get(key, [0, 0.0, 0])
        if int(row.n_projects) != n:
            problems.append(f"{row.region_full} {year or 'unknown'}: n_projects {row.n_projects} != {n} in projects")
        if abs(float(row.investment_yuan_total) - inv) > 0.5:
            problems.append(f"{row.region_full} {year or 'unknown'}: investment_yuan_total "
                            f"{row.investment_yuan_total:.0f} != {inv:.0f} in projects")
    for key in set(expected) - seen:
        problems.append(f"{key[0]} {key[1] or 'unknown'}: {expected[key][0]} projects missing from region_stats")
    by_key = {(r.region_full, r.year if isinstance(r.year, str) else None): r for r in stats.itertuples()}
    for (full, year), r in by_key.items():
        for parent in _ancestors(full)[1:]:
            p = by_key.get((parent.full, year))
            if p is not None and (p.n_projects < r.n_projects or p.investment_yuan_total + 0.5 < r.investment_yuan_total):
                problems.append(f"{parent.full} {year or 'unknown'}: smaller than its part {full}")
    return problems


def keyword_trends(keywords, articles, clusters=None, period: str = "year",
                   stories=None) -> pd.DataFrame:
    """Per period (year or month of published_date; null = unknown): keyword, stories using it
    (n_articles: each story once), weight. Every input is a frame or an Arrow table: they are
    joined and grouped in Arrow (a release's keywords and articles never become Python
    objects); only the per-period result is a frame."""
    import pyarrow as pa
    import pyarrow.compute as pc
    cols = ["period", "keyword", "n_articles", "weight_sum", "rank"]
    unit = unit_table(articles, clusters, stories, width=7 if period == "month" else 4)
    if not isinstance(keywords, pa.Table):
        keywords = pa.Table.from_pandas(keywords[["article_id", "keyword", "weight"]],
                                        preserve_index=False)
    kw = keywords.select(["article_id", "keyword", "weight"]).cast(pa.schema(
        [("article_id", pa.string()), ("keyword", pa.string()), ("weight", pa.float64())]))
    # stories as integers: the join carries and count_distinct hashes 4 bytes a row, not an id
    story = pc.dictionary_encode(unit["story"]).combine_chunks().indices
    unit = pa.table({"article_id": unit["article_id"], "story": story, "period": unit["period"]})
    kw = kw.join(unit, "article_id", join_type="inner").drop_columns(["article_id"])
    if not kw.num_rows:
        return pd.DataFrame(columns=cols)
    out = kw.group_by(["period", "keyword"]).aggregate(
        [("story", "count_distinct"), ("weight", "sum")]).to_pandas().rename(
        columns={"story_count_distinct": "n_articles", "weight_sum": "weight_sum"})
    out = out.sort_values(["period", "n_articles", "weight_sum", "keyword"],
                          ascending=[True, False, False, True], na_position="last")
    out["rank"] = out.groupby("period", dropna=False).cumcount() + 1
    return out[cols].reset_index(drop=True)


def visits_timeline(visits: pd.DataFrame, articles: pd.DataFrame | None = None) -> pd.DataFrame:
    """Visits in date order (undated last), with the article's published date when given."""
    df = visits.copy()
    if articles is not None and not df.empty:
        df = df.merge(articles[["article_id", "published_date"]], on="article_id", how="left")
    return df.sort_values(["date", "person"], na_position="last", kind="stable").reset_index(drop=True)


def aggregate_stage(tables: dict[str, pd.DataFrame], prior=None):
    """The stage's function: the release's region statistics (articles counted per story).
    Of the mentions only the places are read (a filter in the scan of a run's release)."""
    places = rows_of(tables, "mentions", STAGE.reads["mentions"], "kind", ["place"])
    stats = region_stats(tables["articles"], tables["clusters"], places, tables["projects"],
                         stories=tables["stories"])
    return {"region_stats": stats}, None


STAGE = Stage(
    name="aggregate", function=aggregate_stage, key="region_full",
    reads={"articles": ("article_id", "published_date"), "clusters": ("article_id", "is_canonical"),
           "stories": ("article_id", "story_id", "is_representative"),
           "mentions": ("article_id", "kind", "normalized"),
           "projects": ("article_id", "name", "place_full", "investment_yuan", "year")},
    writes={"region_stats": REGION_COLUMNS},
    code=("newsgate.tasks.aggregate", "newsgate.tasks.extract"))  # the gazetteer: extract/places
