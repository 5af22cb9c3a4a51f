"""Table-wide invariants of a release, as columnar queries over its Delta tables.

Row checks (pandera, GX) need only the rows a run adds or changes; what holds across the
whole table is checked here, by scanning the few columns each rule needs from the release's
Delta versions (`pyarrow.dataset`: column projection, batches), never the tables as pandas
frames. Memory is what the key columns take (16-character ids: ~40 MB per million rows),
not what the release takes.

    problems = check_release(lake, entries)     # {rule: [what is wrong, …]}, empty when all hold

Rules (each also a GX expectation of the table's suite, where a run gates its own rows):
    unique keys           documents.doc_id, articles.article_id, clusters.article_id,
                          projects.project_id name one row each
    one canonical         every cluster has exactly one canonical row, and every row's
                          canonical_id is a canonical row of the table
    accounting            every article has a cluster row and every cluster row an article
    region totals         region_stats reconciles with the projects it sums
                          (`aggregate.reconcile`, over the columns it reads)
    consistent stories    every story has exactly one representative and as many rows as
                          each row's story_size says, and the article a row was joined to
                          (matched_id) is in the same story
"""
from __future__ import annotations

from collections.abc import Callable, Mapping

import pyarrow as pa
import pyarrow.compute as pc

from newsgate.schemas.contract import TABLE_KEYS

SHOWN = 5  # examples named per broken rule


class Columns:
    """Columns of a release's tables, read on first use (only those a rule asks for)."""

    def __init__(self, read: Callable[[str, list[str]], pa.Table], tables: set[str]):
        self.read, self.tables, self.cache = read, tables, {}

    def __call__(self, table: str, *columns: str) -> pa.Table:
        key = (table, columns)
        if key not in self.cache:
            self.cache[key] = self.read(table, list(columns))
        return self.cache[key]


def unique_keys(cols: Columns) -> list[str]:
    problems = []
    for table, key in TABLE_KEYS.items():
        if table not in cols.tables:
            continue
        values = cols(table, key).column(key)
        if pc.count_distinct(values).as_py() == len(values):
            continue
        counts = pa.table({key: values}).group_by(key).aggregate([(key, "count")])
        repeated = counts.filter(pc.greater(counts[f"{key}_count"], 1))
        problems.append(f"{table}.{key}: {repeated.num_rows} values name more than one row, "
                        f"e.g. {repeated.column(key).to_pylist()[:SHOWN]}")
    return problems


def one_canonical(cols: Columns) -> list[str]:
    if "clusters" not in cols.tables:
        return []
    clusters = cols("clusters", "article_id", "cluster_id", "canonical_id", "is_canonical")
    per = clusters.select(["cluster_id"]).append_column(
        "n", pc.cast(clusters["is_canonical"], pa.int64())).group_by("cluster_id").aggregate(
        [("n", "sum")])
    wrong = per.filter(pc.not_equal(per["n_sum"], 1))
    problems = [f"clusters: {wrong.num_rows} clusters without exactly one canonical, e.g. "
                f"{wrong.column('cluster_id').to_pylist()[:SHOWN]}"] if wrong.num_rows else []
    canonical = clusters.filter(clusters["is_canonical"]).column("article_id")
    orphan = clusters.filter(pc.invert(pc.is_in(clusters["canonical_id"], value_set=canonical)))
    if orphan.num_rows:
        problems.append(f"clusters: {orphan.num_rows} rows whose canonical_id is not a canonical "
                        f"row, e.g. {orphan.column('article_id').to_pylist()[:SHOWN]}")
    return problems


def accounting(cols: Columns) -> list[str]:
    if not {"articles", "clusters"} <= cols.tables:
        return []
    articles = cols("articles", "article_id").column("article_id")
    clustered = cols("clusters", "article_id").column("article_id")
    problems = []
    for what, ids, among in (("articles without a cluster row", articles, clustered),
                             ("cluster rows without an article", clustered, articles)):
        missing = pc.filter(ids, pc.invert(pc.is_in(ids, value_set=among)))
        if len(missing):
            problems.append(f"{len(missing)} {what}, e.g. {missing.to_pylist()[:SHOWN]}")
    return problems


def region_totals(cols: Columns) -> list[str]:
    if not {"region_stats", "projects"} <= cols.tables:
        return []
    from newsgate.tasks.aggregate import RECONCILE_COLUMNS, reconcile
    stats = cols("region_stats", "region_full", "level", "year", "n_projects",
                 "investment_yuan_total").to_pandas()
    projects = cols("projects", *RECONCILE_COLUMNS)
    return reconcile(stats, projects.to_pandas())


def consistent_stories(cols: Columns) -> list[str]:
    if "stories" not in cols.tables:
        return []
    stories = cols("stories", "article_id", "story_id", "is_representative", "matched_id",
                   "story_size")
    per = stories.select(["story_id", "story_size"]).append_column(
        "representatives", pc.cast(stories["is_representative"], pa.int64())).group_by(
        "story_id").aggregate([("representatives", "sum"), ("story_size", "min"),
                               ("story_size", "max"), ("story_id", "count")])
    problems = []
    for what, wrong in (
            ("stories without exactly one representative",
             pc.not_equal(per["representatives_sum"], 1)),
            ("stories whose story_size is not their number of rows",
             pc.or_(pc.not_equal(per["story_size_min"], per["story_id_count"]),
                    pc.not_equal(per["story_size_max"], per["story_id_count"])))):
        broken = per.filter(wrong)
        if broken.num_rows:
            problems.append(f"stories: {broken.num_rows} {what}, e.g. "
                            f"{broken.column('story_id').to_pylist()[:SHOWN]}")
    matched = stories.filter(pc.is_valid(stories["matched_id"]))
    at = pc.index_in(matched["matched_id"], value_set=stories["article_id"])
    elsewhere = pc.fill_null(pc.not_equal(pc.take(stories["story_id"], at), matched["story_id"]),
                             True)  # joined to an article without a row: elsewhere too
    outside = matched.filter(elsewhere)
    if outside.num_rows:
        problems.append(f"stories: {outside.num_rows} rows joined to an article of another "
                        f"story, e.g. {outside.column('article_id').to_pylist()[:SHOWN]}")
    return problems


RULES: dict[str, Callable[[Columns], list[str]]] = {
    "unique keys": unique_keys, "one canonical per cluster": one_canonical,
    "accounting": accounting, "region totals reconcile": region_totals,
    "consistent stories": consistent_stories,
}


def check_tables(read: Callable[[str, list[str]], pa.Table], tables: set[str]
                 ) -> dict[str, list[str]]:
    """{rule: problems} for every rule that does not hold (empty: all hold). `read(table,
    columns)` returns those columns of the table."""
    cols = Columns(read, tables)
    found = {rule: check(cols) for rule, check in RULES.items()}
    return {rule: problems for rule, problems in found.items() if problems}


def check_release(lake, entries: Mapping[str, dict]) -> dict[str, list[str]]:
    """The invariants over the Delta versions `entries` names (a manifest's `tables`, or the
    versions a publish wrote before it commits)."""
    return check_tables(lambda t, c: lake.read_version(t, entries[t]["version"], c), set(entries))
