"""The gate every stage's output passes: pandera first (cheap, row-level), then a GX suite.

- pandera row failures (a bad offset, an amount out of range) move the row to quarantine with
  the check's name as the reason; a schema-level failure (missing column, wrong type) blocks.
- Great Expectations suites (expectations/<table>.json) hold the dataset-level rules. A failed
  expectation of severity `critical` blocks publishing; `warning` is reported (the same two
  names everywhere: suites, results, report, README).
- Some rules need facts pandas cannot see in the row itself (the article body a span quotes,
  the boilerplate catalogue). Those are computed into `_check_*` columns before GX runs and
  dropped afterwards, so the suites stay plain JSON a reviewer can read. A `_check_*` column
  named in ROW_RULES is a row rule (its failing rows are quarantined); any other is checked by
  the table's suite. `GateContext` carries what they need from outside the table.

Each check lives in one place with one severity: pandera for types, nulls, enums, caps and row
rules (schemas/tables.py), the suites for what needs the whole table (a test keeps a suite from
restating a pandera check, and proves that every check can fail).
"""
from __future__ import annotations

import functools
import json
import logging
import os
import re
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow
import pyarrow.compute as pc

from newsgate import package_dir
from newsgate.schemas.contract import QUARANTINE_COLUMNS
from newsgate.schemas.tables import SCHEMAS
from newsgate.tasks.stage import arrow_parts, rows_of

EXPECTATIONS_DIR = package_dir("expectations")
# what the checks depend on besides the suites: this module, the pandera models, and what the
# derived checks compute with: the boilerplate catalogue (tasks/clean/rules.json), the dedup
# threshold, the stories' link threshold, the region roll-up (tasks/aggregate.py, with
# extract's gazetteer) and extract's sense checks
GATES_CODE = ("newsgate.tasks.gates", "newsgate.schemas", "newsgate.tasks.clean",
              "newsgate.tasks.dedup", "newsgate.tasks.stories", "newsgate.tasks.aggregate",
              "newsgate.tasks.extract")
SEVERITIES = ("critical", "warning")
CHECK_PREFIX = "_check_"
SAMPLE_ROWS = 5
SAMPLE_CHARS = 160
CRITICAL, WARNING = "critical", "warning"  # the suites' severities, the only two names
SEVERITIES = (CRITICAL, WARNING)

log = logging.getLogger(__name__)


@dataclass
class CheckResult:
    table: str
    engine: str  # "pandera" or "gx"
    check: str
    description: str
    severity: str  # one of SEVERITIES: "critical" blocks publishing, "warning" is reported
    success: bool
    observed: str = ""
    n_failed: int = 0
    sample: list[dict] = field(default_factory=list)
    params: str = ""  # the expectation's arguments beyond its columns ("min_value=0.9")

    @property
    def status(self) -> str:
        if self.success:
            return "pass"
        return "fail" if self.severity == CRITICAL else "warn"

    @property
    def id(self) -> str:
        """How a reviewer names the check (`newsgate review accept`, waivers, the report)."""
        return f"{self.table}.{self.check}"


@dataclass
class GateResult:
    table: str
    rows_in: int
    rows_out: int
    checks: list[CheckResult]
    quarantine: pd.DataFrame
    gx_result: dict | None = None  # the suite's GX validation result, for the Data Docs

    @property
    def failed_errors(self) -> list[CheckResult]:
        return [c for c in self.checks if c.status == "fail"]

    @property
    def warnings(self) -> list[CheckResult]:
        return [c for c in self.checks if c.status == "warn"]

    @property
    def passed(self) -> bool:
        return not self.failed_errors


@dataclass
class GateContext:
    """What a gate's derived checks may need from outside the table: the release so far and
    the previous release, as whole frames (tests) or tasks.reader.ReleaseViews (a run: read
    lazily, only the columns and articles a check asks for, see `read`)."""
    tables: Mapping[str, pd.DataFrame] = field(default_factory=dict)  # the release so far
    previous: Mapping[str, pd.DataFrame] = field(default_factory=dict)  # the previous release
    # the previous release was gated by these very checks (same gate code, rules and suites):
    # its rows passed them, and row checks need not run again on rows it holds unchanged
    same_gates: bool = False
    carried: frozenset = frozenset()  # article ids whose rows the stage carried over unchanged
    workers: Any = None  # tasks.workers.Workers: long scans run on the run's workers

    def verified_articles(self) -> frozenset:
        """Articles whose carried-over rows a release already checked (under the same gates)."""
        return self.carried if self.same_gates else frozenset()

    def map_chunks(self, fn, items: list) -> list:
        return self.workers.map_chunks(fn, items) if self.workers is not None else fn(items)

    @staticmethod
    def read(tables: Mapping, table: str, columns: list[str], articles=None) -> pd.DataFrame | None:
        """`columns` of `table` in `tables` (`ctx.tables` or `ctx.previous`), only the rows
        of `articles` (ids) when given; None when there is no such table."""
        return rows_of(tables, table, columns, None if articles is None else "article_id", articles)


# ---------------------------------------------------------------- derived check columns

def _span_matches(df: pd.DataFrame, bodies: pd.Series, quoted: str,
                  verified: frozenset = frozenset()) -> pd.Series:
    """body[start:end] == quoted text, per row (bodies indexed by article_id). Rows of
    `verified` articles (facts carried over from a release that passed this check, their
    article unchanged) are not checked again."""
    todo = ~df["article_id"].isin(verified).to_numpy() if verified else slice(None)
    matches = pd.Series(True, index=df.index, dtype=bool)
    rows = df[todo] if verified else df
    if not len(rows):
        return matches
    # a dict of Python strings, not `Series.map`: mapping string columns copies the body into
    # every row (tens of thousands of mentions x kilobytes of body); and only the rows and
    # bodies to check become Python objects (a 1% run checks 1% of them)
    needed = bodies[bodies.index.isin(rows["article_id"].unique())]
    body_of = dict(zip(needed.index, needed.to_numpy(dtype=object)))

    def ok(aid, s, e, q):
        b = body_of.get(aid)
        return isinstance(b, str) and isinstance(q, str) and b[int(s):int(e)] == q

    matches.iloc[todo] = [ok(a, s, e, q) for a, s, e, q in zip(
        rows["article_id"], rows["start"], rows["end"], rows[quoted])]
    return matches


def _bodies(ctx: GateContext, df: pd.DataFrame) -> pd.Series:
    """The bodies of the articles `df`'s rows quote, by article_id."""
    articles = ctx.read(ctx.tables, "articles", ["article_id", "body"], df["article_id"].unique())
    if articles is None or articles.empty:
        return pd.Series(dtype=object)
    return articles.set_index("article_id")["body"]


def full_date_share(parts: list[pyarrow.Table]) -> float:
    """Share of articles whose published_date is a full day (YYYY-MM-DD), over Arrow parts."""
    full = rows = 0
    for part in parts:
        dates = part["published_date"].cast(pyarrow.string())
        full += pc.sum(pc.fill_null(pc.match_substring_regex(
            dates, r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"), False)).as_py() or 0
        rows += len(dates)
    return full / rows if rows else 0.0


def _derive_articles(df: pd.DataFrame, ctx: GateContext) -> dict:
    """Boilerplate left in a body. A body a release published under the same rules (so with no
    hit) is not scanned again; the others are scanned on the run's workers (pure-Python
    regexes: ~0.9 s for the bench corpus). The change of the full-date share against the
    previous release's articles (0 without one) is the same value on every row."""
    from newsgate.tasks.clean.rules import count_boilerplate
    before = (ctx.read(ctx.previous, "articles", ["article_id", "body"], df["article_id"])
              if ctx.same_gates else None)
    verified = {} if before is None else dict(zip(before["article_id"], before["body"]))
    bodies = df["body"].tolist()
    todo = [i for i, (a, b) in enumerate(zip(df["article_id"], bodies)) if verified.get(a) != b]
    hits = np.zeros(len(df), dtype=int)
    hits[todo] = ctx.map_chunks(count_boilerplate, [bodies[i] for i in todo])
    previous = arrow_parts(ctx.previous, "articles", ["published_date"])
    release = _release_parts(ctx, "articles", df, ["published_date"]) if "published_date" in df else []
    share = full_date_share(release)
    before = full_date_share(previous) if _rows(previous) else share
    return {"boilerplate_hits": pd.Series(hits, index=df.index, dtype=int),
            "full_date_share_change": pd.Series(share - before, index=df.index, dtype=float)}


def _derive_clusters(df: pd.DataFrame, ctx: GateContext) -> dict:
    """(One canonical per cluster is table-wide: an invariant, tasks/invariants.py.)"""
    from newsgate.tasks.dedup import NEAR_THRESHOLD as threshold
    return {"similarity_meets_threshold": (df["kind"] != "near") | (df["similarity"] >= threshold)}


def _drift(df: pd.DataFrame, ctx: GateContext, table: str, share_of: str | None) -> dict:
    """Drift of the release being built against the previous release (the same table as
    published), both read in the two columns it needs: `share_drift` names, on `df`'s rows, a
    value of `share_of` whose share of the rows left the band; `per_article_drift` is set on
    every row when facts per article left it ('' = within)."""
    from newsgate.tasks.extract import sense
    columns = ["article_id", *filter(None, [share_of])]
    before = (arrow_parts(ctx.previous, table, columns)
              or arrow_parts(ctx.previous, table, ["article_id"]))  # published without share_of
    if not _rows(before):
        return {"share_drift": pd.Series("", index=df.index), "per_article_drift": pd.Series("", index=df.index)}
    now = _release_parts(ctx, table, df, columns)
    share = pd.Series("", index=df.index)
    if share_of is not None and share_of in before[0].column_names:
        offenders = sense.share_drift(_counts(now, share_of, ""), _counts(before, share_of, ""))
        # every row of an offending value carries the whole finding, top offenders first
        share = df[share_of].fillna("").isin(list(offenders)).map({True: "; ".join(offenders.values()), False: ""})
    per_article = sense.per_article_drift(_counts(now, "article_id"), _counts(before, "article_id"))
    return {"share_drift": share, "per_article_drift": pd.Series(per_article, index=df.index)}


def _rows(parts: list[pyarrow.Table]) -> int:
    return sum(len(part) for part in parts)


def _release_parts(ctx: GateContext, table: str, df: pd.DataFrame, columns: list[str]) -> list:
    """`columns` of the release being built's `table` as Arrow parts; `df` alone when the
    context holds no such rows (a test's lone frame)."""
    parts = arrow_parts(ctx.tables, table, columns)
    return parts if _rows(parts) else arrow_parts({table: df}, table, columns)


def _counts(parts: list[pyarrow.Table], column: str, missing: str | None = None) -> Counter:
    """Rows per value of `column` over Arrow parts, counted column-wise (Arrow's value_counts;
    missing values as `missing`, or not counted)."""
    counts: Counter = Counter()
    for part in parts:
        values = part[column].cast(pyarrow.string())
        values = pc.fill_null(values, missing) if missing is not None else values.drop_null()
        for item in pc.value_counts(values).to_pylist():
            counts[item["values"]] += item["counts"]
    return counts


def _derive_stories(df: pd.DataFrame, ctx: GateContext) -> dict:
    """Links across copy clusters at or above the stories' link threshold, matches within one
    a copy. (What spans a story, its representative, size and matches, is a table-wide
    invariant: tasks/invariants.py.) A run's rows are whole stories, so a match is among them."""
    from newsgate.tasks.stories import LINK_THRESHOLD
    cluster_of = dict(zip(df["article_id"], df["cluster_id"]))
    matched_cluster = df["matched_id"].map(cluster_of)
    across = df["matched_id"].notna() & (matched_cluster != df["cluster_id"])
    within = df["matched_id"].notna() & (matched_cluster == df["cluster_id"])
    return {
        "link_meets_threshold": ~across | (df["score"] >= LINK_THRESHOLD),
        "within_cluster_is_copy": ~within | (df["relation"] == "copy"),
    }


def _derive_mentions(df: pd.DataFrame, ctx: GateContext) -> dict:
    is_place = df["kind"] == "place"
    return {
        "span_matches": _span_matches(df, _bodies(ctx, df), "text", ctx.verified_articles()),
        "place_resolved": ~is_place | df["normalized"].notna(),
        **_drift(df, ctx, "mentions", "kind"),
    }


def _derive_facts(table: str, share_of: str | None):
    """Derived columns of a fact table that quotes its evidence: span check and drift."""
    def derive(df: pd.DataFrame, ctx: GateContext) -> dict:
        return {"span_matches": _span_matches(df, _bodies(ctx, df), "evidence", ctx.verified_articles()),
                **_drift(df, ctx, table, share_of)}
    return derive


def _derive_region_stats(df: pd.DataFrame, ctx: GateContext) -> dict:
    from newsgate.tasks.aggregate import RECONCILE_COLUMNS, reconcile
    projects = ctx.read(ctx.tables, "projects", list(RECONCILE_COLUMNS))
    problems = reconcile(df, pd.DataFrame() if projects is None else projects)
    return {"reconciles": pd.Series(not problems, index=df.index, dtype=bool)}


DERIVED: dict[str, Callable[[pd.DataFrame, GateContext], dict]] = {
    "articles": _derive_articles,
    "clusters": _derive_clusters,
    "stories": _derive_stories,
    "mentions": _derive_mentions,
    "projects": _derive_facts("projects", "pattern"),
    "indicators": _derive_facts("indicators", "measure"),
    "visits": _derive_facts("visits", None),
    "region_stats": _derive_region_stats,
}


# ---------------------------------------------------------------- pandera

def _sample(df: pd.DataFrame, index, columns=None) -> list[dict]:
    rows = df.loc[[i for i in list(index)[:SAMPLE_ROWS] if i in df.index]]
    if columns:
        rows = rows[[c for c in columns if c in rows.columns]]
    out = []
    for rec in rows.to_dict("records"):
        out.append({k: _short(v) for k, v in rec.items() if not k.startswith(CHECK_PREFIX)})
    return out


def _short(v):
    if isinstance(v, str) and len(v) > SAMPLE_CHARS:
        return v[:SAMPLE_CHARS] + "…"
    if isinstance(v, (list, tuple)):
        return ", ".join(map(str, v))[:SAMPLE_CHARS]
    return v


def _doc_id_of(row: pd.Series) -> str | None:
    if isinstance(row.get("doc_id"), str):
        return row["doc_id"]
    aid = row.get("article_id")
    return aid.rsplit("-", 1)[0] if isinstance(aid, str) else None


def run_pandera(table: str, df: pd.DataFrame, stage: str):
    """Validate; failing rows move to quarantine. Returns (coerced df, checks, quarantine)."""
    model = SCHEMAS[table]
    try:
        return model.validate(df, lazy=True), [
            CheckResult(table, "pandera", model.__name__, f"pandera schema {model.__name__}",
                        CRITICAL, True, observed=f"{len(df)} rows valid")], _empty_quarantine()
    except pa.errors.SchemaErrors as err:
        cases = err.failure_cases
    except pa.errors.SchemaError as err:  # raised for non-lazy-able problems
        cases = pd.DataFrame([{"check": str(err), "column": None, "index": None,
                               "failure_case": None}])
    checks: list[CheckResult] = []
    row_cases = cases[cases["index"].notna()]
    schema_cases = cases[cases["index"].isna()]
    for check, grp in schema_cases.groupby("check", dropna=False):
        checks.append(CheckResult(
            table, "pandera", str(check), f"schema: {check} on {sorted(set(grp['column'].dropna()))}",
            CRITICAL, False, observed="; ".join(map(str, grp["failure_case"].head(3))),
            n_failed=len(grp)))
    bad_index = pd.Index(row_cases["index"].unique())
    quarantine_rows = []
    for check, grp in row_cases.groupby("check"):
        idx = pd.Index(grp["index"].unique())
        checks.append(CheckResult(
            table, "pandera", str(check), f"row rule {check}: failing rows quarantined",
            WARNING, False, observed=f"{len(idx)} rows quarantined", n_failed=len(idx),
            sample=_sample(df, idx)))
        for i in idx:
            if i not in df.index:
                continue
            row = df.loc[i]
            col = grp.loc[grp["index"] == i, "column"].dropna().astype(str).unique()
            quarantine_rows.append({
                "stage": stage, "source": row.get("source") if isinstance(row.get("source"), str) else None,
                "doc_id": _doc_id_of(row), "reason": f"{table}: {check}",
                "detail": f"columns {', '.join(col)}; row {_row_label(row)}"})
    kept = df.drop(index=[i for i in bad_index if i in df.index])
    if schema_cases.empty:
        kept = model.validate(kept, lazy=True)
    return kept, checks, pd.DataFrame(quarantine_rows, columns=QUARANTINE_COLUMNS)


def _row_label(row: pd.Series) -> str:
    for key in ("project_id", "article_id", "doc_id", "source"):
        if isinstance(row.get(key), str):
            return f"{key}={row[key]}"
    return str(row.name)


def _empty_quarantine() -> pd.DataFrame:
    return pd.DataFrame(columns=QUARANTINE_COLUMNS)


# ---------------------------------------------------------------- Great Expectations

@functools.lru_cache(maxsize=1)
def _gx_context():
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


def warm_up() -> None:
    """Import GX and make its context, and build the pandera schemas (importing what pandera
    looks up the first time), now: seconds the first gate would otherwise spend."""
    _gx_context()
    for model in SCHEMAS.values():
        model.to_schema()


@functools.lru_cache(maxsize=None)
def _batch_definition(table: str):
    context = _gx_context()
    try:
        source = context.data_sources.get("newsgate")
    except Exception:  # first use in this process
        source = context.data_sources.add_pandas("newsgate")
    return source.add_dataframe_asset(table).add_batch_definition_whole_dataframe(table)


def _forget_batches(definition) -> None:
    """GX's execution engine keeps the data of every batch it validated (each table's last
    frame, in its suite's columns) for the life of the process: about 270 MB by pandas' deep
    count after a first run of 200k tiny documents. A gate's batch is validated once."""
    manager = definition.data_asset.datasource.get_execution_engine().batch_manager
    manager.reset_batch_cache()
    manager.batch_data_cache.clear()


def load_suite_json(table: str, suites_dir: Path = EXPECTATIONS_DIR) -> dict:
    return json.loads((Path(suites_dir) / f"{table}.json").read_text(encoding="utf-8"))


def suites_problem(suites_dir: Path | str) -> str | None:
    """Why `suites_dir` cannot stand in for expectations/, or None: it must hold a suite for
    every table the run gates (the files of expectations/), each JSON with an `expectations`
    list. Checked before a run starts, so a bad suite stops it at once, named."""
    suites_dir = Path(suites_dir)
    if not suites_dir.is_dir():
        return f"{suites_dir} is not a folder"
    needed = sorted(p.name for p in EXPECTATIONS_DIR.glob("*.json"))
    missing = [name for name in needed if not (suites_dir / name).is_file()]
    if len(missing) == len(needed):
        return f"{suites_dir} holds no suites; it needs one per table: {', '.join(needed)}"
    if missing:
        return f"{suites_dir} lacks {', '.join(missing)} (copy from {EXPECTATIONS_DIR})"
    for name in needed:
        path = suites_dir / name
        try:
            suite = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            return f"{path} cannot be read: {exc.strerror or exc}"
        except UnicodeDecodeError as exc:
            return f"{path} is not UTF-8 text (at byte {exc.start})"
        except json.JSONDecodeError as exc:
            return f"{path} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        if not (isinstance(suite, dict) and isinstance(suite.get("expectations"), list)):
            return f"{path} is not a GX suite: it has no expectations list"
        for i, e in enumerate(suite["expectations"]):
            if not (isinstance(e, dict) and isinstance(e.get("type"), str)
                    and e.get("severity") in SEVERITIES):
                return (f"{path}: expectation {i} needs a \"type\" and a \"severity\" "
                        f"({' or '.join(SEVERITIES)})")
    return None


def _suite_columns(suite: dict) -> set[str]:
    cols: set[str] = set()
    for exp in suite["expectations"]:
        kw = exp.get("kwargs", {})
        cols.update(c for c in (kw.get("column"), kw.get("column_A"), kw.get("column_B")) if c)
        cols.update(kw.get("column_list") or [])
    return cols


def run_gx(table: str, df: pd.DataFrame, suite: dict) -> tuple[list[CheckResult], dict]:
    import great_expectations as gx

    columns = [c for c in df.columns if c in _suite_columns(suite)]
    frame = df[columns].reset_index(drop=True) if columns else df.iloc[:, :1].reset_index(drop=True)
    expectations = [dict(e) for e in suite["expectations"]]
    gx_suite = gx.ExpectationSuite(name=f"newsgate.{table}", expectations=expectations)
    definition = _batch_definition(table)
    batch = definition.get_batch(batch_parameters={"dataframe": frame})
    try:
        result = batch.validate(gx_suite, result_format="SUMMARY")
    finally:
        _forget_batches(definition)
    checks, rows = [], df.reset_index(drop=True)  # the positions GX reports failing rows at
    for r in result.results:
        cfg = r.expectation_config
        res = r.result or {}
        idx = res.get("partial_unexpected_index_list") or []
        severity = CRITICAL if str(getattr(cfg.severity, "value", cfg.severity)) == CRITICAL else WARNING
        checks.append(CheckResult(
            table, "gx", _check_label(cfg), (cfg.meta or {}).get("description", cfg.type),
            severity, bool(r.success), observed=_observed(res),
            n_failed=int(res.get("unexpected_count") or (0 if r.success else 1)),
            sample=_sample(rows, idx) if idx else [], params=_params(cfg)))
    return checks, result.to_json_dict()


TARGET_KWARGS = ("batch_id", "column", "column_A", "column_B", "column_list")


def _params(cfg) -> str:
    return ", ".join(f"{k}={v}" for k, v in cfg.kwargs.items() if k not in TARGET_KWARGS)


def _check_label(cfg) -> str:
    kw = cfg.kwargs
    target = kw.get("column") or "/".join(filter(None, [kw.get("column_A"), kw.get("column_B")])) \
        or ",".join(kw.get("column_list") or [])
    return f"{cfg.type}({target})" if target else cfg.type


def _observed(res: dict) -> str:
    if "observed_value" in res:
        value = res["observed_value"]
        return f"{value:.4g}" if isinstance(value, float) else str(value)
    if "unexpected_count" in res:
        total = res.get("element_count")
        # values that explain themselves (a drift message) are named, the top ones first
        named = [str(c["value"]) for c in res.get("partial_unexpected_counts") or []
                 if isinstance(c.get("value"), str) and c["value"]][:3]
        return f"{res['unexpected_count']} of {total} unexpected" + (f": {'; '.join(named)}" if named else "")
    return ""


# ---------------------------------------------------------------- the gate

def run_gate(table: str, df: pd.DataFrame, *, stage: str, context: GateContext | None = None,
             suites_dir: Path | str | None = None) -> tuple[pd.DataFrame, GateResult]:
    """Validate one table. Returns the rows that passed (typed) and the gate's result."""
    context = context or GateContext()
    suites_dir = Path(suites_dir) if suites_dir else EXPECTATIONS_DIR
    rows_in = len(df)
    quarantine = [_empty_quarantine()]
    checks: list[CheckResult] = []
    if table in SCHEMAS:
        df, checks, bad_rows = run_pandera(table, df.reset_index(drop=True), stage)
        quarantine.append(bad_rows)
    if any(c.status == "fail" for c in checks):
        return df, GateResult(table, rows_in, len(df), checks, pd.concat(quarantine, ignore_index=True))
    suite = load_suite_json(table, suites_dir)
    checked = _with_derived_columns(table, df.reset_index(drop=True), context, suite)
    checked, row_checks, bad_rows = _quarantine_row_rules(table, checked, stage)
    checks += row_checks
    quarantine.append(bad_rows)
    gx_checks, gx_result = run_gx(table, checked, suite)
    kept = checked.drop(columns=[c for c in checked.columns if c.startswith(CHECK_PREFIX)])
    return kept, GateResult(table, rows_in, len(kept), checks + gx_checks,
                            pd.concat(quarantine, ignore_index=True), gx_result)


def build_data_docs(target: Path, run_id: str, gates: list[GateResult]) -> Path | None:
    """Render the run's GX validation results as a Data Docs site under `target`: one
    validation page per table (run name = the run id, data asset = the table) and the page of
    every suite the index links to. GX's pages take their scripts and styles from CDNs, so they
    need a network; the run's report shows the same results offline."""
    results = [g for g in gates if g.gx_result]
    if not results:
        return None
    import great_expectations as gx
    from great_expectations.core import ExpectationSuiteValidationResult
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier, ValidationResultIdentifier)

    context = gx.get_context(mode="ephemeral")
    context.add_data_docs_site("newsgate", {
        "class_name": "SiteBuilder",
        "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                          "base_directory": str(Path(target).resolve())},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"}})
    run = RunIdentifier(run_name=run_id)
    for gate in results:
        suite = gate.table  # a dotted name nests its pages one folder deeper than GX's links
        result = {**docs_safe_result(gate.gx_result), "suite_name": suite}
        result["meta"] = {**result.get("meta", {}), "run_id": run.to_json_dict(),
                          "expectation_suite_name": suite,
                          "batch_spec": {"data_asset_name": gate.table},
                          "batch_kwargs": {"data_asset_name": gate.table}}
        key = ValidationResultIdentifier(
            expectation_suite_identifier=ExpectationSuiteIdentifier(name=suite),
            run_id=run, batch_identifier=gate.table)
        context.validation_results_store.set(key, ExpectationSuiteValidationResult(**result))
        context.suites.add(gx.ExpectationSuite(name=suite, expectations=[
            dict(r["expectation_config"]) for r in result.get("results", [])]))
    context.build_data_docs(site_names=["newsgate"])
    # GX's favicon template counts one folder too few on validation pages (its navbar counts
    # right): the icon is also where those pages look, so no link of the site is broken
    icon = Path(target) / "static" / "images" / "favicon.ico"
    if icon.exists():
        (Path(target) / "validations" / "static" / "images").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(icon, Path(target) / "validations" / "static" / "images" / icon.name)
    return target / "index.html"


# GX's Data Docs render some result values without escaping them (the failing value of a regex
# check: for an HTML document, the page's source). In what they are given, the characters that
# could open a tag or an entity or end an attribute or a script string are full-width
# look-alikes, and script URL schemes lose their colon: nothing from the data can become markup.
_DOCS_INERT = str.maketrans({"<": "＜", ">": "＞", "&": "＆", '"': "＂", "'": "＇", "\\": "＼",
                             "`": "｀"})
_SCRIPT_SCHEME = re.compile(r"(?i)\b(javascript|vbscript|data)(\s*):")


def docs_safe(value, cut: int | None = None):
    """`value` (nested JSON) with every string inert for the Data Docs, and cut to `cut` chars."""
    if isinstance(value, str):
        value = value if cut is None or len(value) <= cut else value[:cut] + "…"
        return _SCRIPT_SCHEME.sub(r"\1\2∶", value.translate(_DOCS_INERT))
    if isinstance(value, dict):
        return {k: docs_safe(v, cut) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [docs_safe(v, cut) for v in value]
    return value


def docs_safe_result(gx_result: dict) -> dict:
    """A validation result as the Data Docs may show it: inert strings, data values (the
    `result` of each expectation) cut to SAMPLE_CHARS. The report shows the samples exactly."""
    safe = docs_safe(gx_result)
    for result in safe.get("results", []):
        result["result"] = docs_safe(result.get("result"), SAMPLE_CHARS)
    return safe


def _with_derived_columns(table: str, df: pd.DataFrame, context: GateContext, suite: dict):
    derive = DERIVED.get(table)
    if derive is not None and len(df):
        extra = derive(df, context)
    else:  # an empty table still needs the columns its suite names
        extra = {c[len(CHECK_PREFIX):]: pd.Series(dtype=object)
                 for c in _suite_columns(suite) if c.startswith(CHECK_PREFIX)}
    return df.assign(**{CHECK_PREFIX + k: v for k, v in extra.items()})


def _quarantine_row_rules(table: str, df: pd.DataFrame, stage: str):
    """Derived row rules (a span that does not quote its body) quarantine the row."""
    checks, rows = [], []
    for rule, description in ROW_RULES.items():
        col = CHECK_PREFIX + rule
        if col not in df.columns or not len(df):
            continue
        bad = ~df[col].astype(bool)
        if not bad.any():
            continue
        checks.append(CheckResult(table, "row rule", rule, description, WARNING, False,
                                  observed=f"{int(bad.sum())} rows quarantined",
                                  n_failed=int(bad.sum()), sample=_sample(df, df.index[bad])))
        for _, row in df[bad].iterrows():
            rows.append({"stage": stage, "source": None, "doc_id": _doc_id_of(row),
                         "reason": f"{table}: {rule}", "detail": f"{description}; {_row_label(row)}"})
        df = df[~bad]
    return df, checks, pd.DataFrame(rows, columns=QUARANTINE_COLUMNS)


# row-level derived rules: failing rows are quarantined before the suite runs
ROW_RULES = {"span_matches": "body[start:end] of the article equals the quoted text"}
