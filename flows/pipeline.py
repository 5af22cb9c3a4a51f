"""The `newsgate` flow: ingest → clean → dedup → extract → aggregate → publish, every stage gated.

Reads top-down like a recipe. Each stage is a thin Prefect task over a *batch* of documents
(never one task per document); the pure logic lives in tasks/. Nothing is published unless
every gate passed; a blocked or failed run still writes its report.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import time
import traceback
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

import pandas as pd
from prefect import flow, get_run_logger, task, unmapped
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import INPUTS, NO_CACHE, TASK_SOURCE
from prefect.context import FlowRunContext
from prefect.filesystems import LocalFileSystem
from prefect.states import Failed
from prefect.task_runners import ThreadPoolTaskRunner

from newsgate import module_files, package_dir
from newsgate.flows.review import needs_review, review
from newsgate.flows.runners import log_progress
from newsgate.tasks import accumulate
from newsgate.tasks.gates import QUARANTINE_COLUMNS, GateResult, build_data_docs, run_gate
from newsgate.tasks.ingest import discover, estimate_documents, exclude_paths
from newsgate.tasks.publish import Lake, LakeError, PublishLocked
from newsgate.tasks.records import to_records
from newsgate.tasks.report import RunSummary, gate_rows, render_markdown, write_report
from newsgate.tasks.workers import available_cpus, call, even_bounds, release_memory, worker_pool

DEFAULT_SOURCES = [str(package_dir("seeds"))]
FACT_TABLES = ["mentions", "projects", "indicators", "visits", "keywords"]
CODE_VERSION = "0.1.0"
PARALLEL_MIN_DOCS = 100  # below this, starting worker processes costs more than it saves
# what a worker process loads as it starts (tasks/workers.py): both stages' code, jieba, lexicon
WORKER_WARM_UP = ("newsgate.tasks.clean", "newsgate.tasks.extract", "newsgate.tasks.extract.tokenize:lexicon")


# the name of the flow run's final (red) state when nothing was published
FINAL_STATES = {"blocked": "Blocked", "rejected": "Rejected"}


class GateBlocked(RuntimeError):
    """A gate failed an error-severity check: nothing is published."""


class InvariantBroken(GateBlocked):
    """A table-wide invariant does not hold over the written Delta versions: not committed."""


class ReviewRejected(RuntimeError):
    """The reviewer (or the lack of one) did not approve the release."""


class NothingNew(Exception):
    """Every input is already in the latest release, made by the same code and gates."""


def batched(items: list, size: int) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)] or [[]]


def frame_batches(df: pd.DataFrame, size: int, multiple: int = 1) -> list[pd.DataFrame]:
    """At most `size` rows per batch, the batches evenly sized and, when more than one is
    needed, as many as a multiple of `multiple` (so parallel workers finish together: 9
    batches on 2 workers leave one of them alone for the last round, 10 smaller ones do not)."""
    n = -(-len(df) // size) or 1
    if n > 1:
        n = min(len(df), -(-n // multiple) * multiple)
    return [df.iloc[a:b] for a, b in even_bounds(len(df), n)]


def largest_first(task_fn, batches: list[pd.DataFrame], text_column: str, code: str) -> list:
    """`task_fn` mapped over `batches`, the longest texts first, the results in batch order: the
    last batches to start are the short ones, so parallel workers finish together."""
    sizes = [int(b[text_column].str.len().sum()) if len(b) else 0 for b in batches]
    order = sorted(range(len(batches)), key=lambda i: -sizes[i])
    futures = task_fn.map([batches[i] for i in order], unmapped(code))
    results: list = [None] * len(batches)
    for i, future in zip(order, futures):
        results[i] = future.result()
    return results


# Cleaning finds a site's repeated template lines within its batch, so the split of documents
# into batches must not depend on the number of workers (or a run's tables would): an even
# number of batches suits two workers. Extraction is per article, so its batches follow the
# workers.
CLEAN_BATCH_MULTIPLE = 2


# ------------------------------------------------------------------ stage tasks (thin)
# The per-batch stages are cached on their inputs, the task's source and a fingerprint of the
# stage's own code (`code`), with results persisted under <out>/cache: a re-run over unchanged
# input recomputes nothing, and changing a cleaning rule invalidates exactly the clean stage.
CACHED = INPUTS + TASK_SOURCE


@task(name="ingest", cache_policy=CACHED)
def ingest_batch(paths: list[str], stamps: list[tuple[int, int]], code: str):
    from newsgate.tasks.ingest import ingest_files
    return ingest_files([Path(p) for p in paths])


@task(name="clean", cache_policy=CACHED)
def clean_batch(documents: pd.DataFrame, code: str):
    from newsgate.tasks.clean import INPUT_COLUMNS, CleanBatch, clean_records
    # in a worker process when the run has a pool; plain rows there and back (tasks/records.py)
    return CleanBatch.from_rows(call(clean_records, to_records(documents, INPUT_COLUMNS)))


@task(name="dedup", cache_policy=NO_CACHE)
def dedup_all(articles: pd.DataFrame, prior=None):
    from newsgate.tasks.dedup import dedup_articles
    return dedup_articles(articles, prior)


@task(name="extract", cache_policy=CACHED)
def extract_batch(articles: pd.DataFrame, code: str) -> dict[str, pd.DataFrame]:
    from newsgate.tasks.extract import EXTRACT_INPUTS, extract_records, fact_frames
    # in a worker process when the run has a pool; plain rows there and back (tasks/records.py)
    return fact_frames(call(extract_records, to_records(articles, EXTRACT_INPUTS)))


@task(name="aggregate", cache_policy=NO_CACHE)
def aggregate(articles, clusters, mentions, projects) -> pd.DataFrame:
    from newsgate.tasks.aggregate import region_stats
    return region_stats(articles, clusters, mentions, projects)


@task(name="gate", cache_policy=NO_CACHE, task_run_name="gate-{table}")
def gate(table: str, df: pd.DataFrame, stage: str, context: dict | None = None,
         suites_dir: str | None = None) -> tuple[pd.DataFrame, GateResult]:
    return run_gate(table, df, stage=stage, context=context, suites_dir=suites_dir)


@task(name="publish", cache_policy=NO_CACHE)
def publish(lake: Lake, release_id: str, tables: dict, meta: dict) -> dict:
    """Write the Delta versions, check the table-wide invariants over them (columnar, not in
    pandas), and commit only when they hold."""
    from newsgate.tasks.invariants import check_release

    def audit(entries: dict) -> None:
        broken = check_release(lake, entries)
        if broken:
            raise InvariantBroken("; ".join(f"{rule}: {problems[0]}"
                                            for rule, problems in broken.items()))
    return lake.publish(release_id, tables, meta, audit=audit)


# ------------------------------------------------------------------ helpers

def code_fingerprint(*modules: str) -> str:
    """Hash of the source and data files of the stage's modules (what its output depends on)."""
    h = hashlib.sha256()
    for module in modules:
        for f in module_files(module):
            h.update(f"{module}/{f.name}".encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def file_stamps(paths: list[str]) -> list[tuple[int, int]]:
    """(size, mtime) per path: an edited file gets a new ingest cache key."""
    out = []
    for p in paths:
        try:
            st = os.stat(p)
            out.append((st.st_size, st.st_mtime_ns))
        except OSError:
            out.append((-1, -1))
    return out


def _cached(task_fn, storage: LocalFileSystem | None):
    if storage is None:
        return task_fn.with_options(cache_policy=NO_CACHE, persist_result=False)
    return task_fn.with_options(persist_result=True, result_storage=storage)


def _cache_storage(out: Path) -> LocalFileSystem:
    """A saved storage block per output directory (Prefect resolves result storage by block)."""
    base = (out / "cache").resolve()
    block = LocalFileSystem(basepath=str(base))
    block.save(f"newsgate-cache-{hashlib.sha256(str(base).encode()).hexdigest()[:12]}",
               overwrite=True)
    return block


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if f is not None]
    nonempty = [f for f in frames if len(f)]
    if nonempty:
        return pd.concat(nonempty, ignore_index=True)
    return frames[0].iloc[0:0].reset_index(drop=True) if frames else pd.DataFrame()


def _unique_doc_ids(documents: pd.DataFrame) -> pd.DataFrame:
    """Identical texts from different batches keep distinct ids (the ingest rule, run-wide)."""
    dup = documents["doc_id"].duplicated(keep="first")
    if dup.any():
        suffix = documents.loc[dup, "source"].map(
            lambda s: hashlib.sha256(s.encode()).hexdigest()[:6])
        documents.loc[dup, "doc_id"] = documents.loc[dup, "doc_id"] + "-" + suffix
    return documents


def _load_dedup_index(run: Run):
    """The previous release's dedup index, when it was built by compatible code."""
    if not run.built_like_previous("newsgate.tasks.clean", "newsgate.tasks.dedup"):
        return None  # other code may have cleaned other bodies: dedup everything again
    from newsgate.tasks.dedup import DedupIndex
    path = run.previous_manifest.get("dedup_index")
    if not path:
        return None
    path = run.lake.root / path
    if not path.exists():
        return None
    try:
        return DedupIndex.load(path, fetch=run.lake.bodies_fetch(run.previous_manifest))
    except ValueError as exc:  # other parameters: recompute everything
        get_run_logger().warning("dedup index not reused: %s", exc)
        return None


STAGE_MODULES = ["newsgate.tasks.ingest", "newsgate.tasks.clean", "newsgate.tasks.dedup", "newsgate.tasks.extract",
                 "newsgate.tasks.aggregate", "newsgate.tasks.gates", "newsgate.schemas"]


def _suites_fingerprint(expectations_dir: str | None) -> str:
    from newsgate.tasks.gates import EXPECTATIONS_DIR
    h = hashlib.sha256()
    for f in sorted(Path(expectations_dir or EXPECTATIONS_DIR).glob("*.json")):
        h.update(f.name.encode() + f.read_bytes())
    return h.hexdigest()[:16]


# the document columns the clean stage reads: equal values -> equal articles (the text is
# covered by doc_id, its hash, so the largest column need not be compared)
CLEAN_INPUTS = ["doc_id", "source", "format", "container", "url", "title_hint", "published_hint"]


def _nothing_new(run: Run, run_docs: pd.DataFrame, ingest_q: pd.DataFrame) -> str | None:
    """Why this run cannot change the latest release, or None when it can.

    True when every document (with the metadata the clean stage reads) and every ingest
    verdict of the run is already in the release, and that release was made by the same stage
    code and gated by the same suites: re-running would reproduce it row for row."""
    if not run.built_like_previous(*STAGE_MODULES, suites=True):
        return None

    def keys(df: pd.DataFrame, columns: list[str]) -> set:
        return set(pd.util.hash_pandas_object(
            df.reindex(columns=columns).astype(object).fillna("").astype(str), index=False))

    before_q = run.previous.get("quarantine")
    if not keys(run_docs, CLEAN_INPUTS) <= keys(run.previous["documents"], CLEAN_INPUTS):
        return None
    verdict = ["source", "reason"]
    if len(ingest_q) and (before_q is None or not keys(ingest_q, verdict) <= keys(before_q, verdict)):
        return None
    return (f"nothing new: all {len(run_docs)} documents and {len(ingest_q)} ingest verdicts "
            f"are already in release {run.previous_manifest['release_id']}, made by the same code "
            f"and gates")


def _fingerprint(documents: pd.DataFrame) -> str:
    h = hashlib.sha256()
    for doc_id in sorted(documents["doc_id"]):
        h.update(doc_id.encode())
    return h.hexdigest()[:16]


def _in_background(fn, *args) -> Future:
    pool = ThreadPoolExecutor(1, thread_name_prefix="newsgate-background")
    try:
        return pool.submit(fn, *args)
    finally:
        pool.shutdown(wait=False)  # the thread ends with its one job


def _new_ids() -> tuple[str, str]:
    now = datetime.now(timezone.utc)
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    tag = uuid.uuid4().hex[:6]
    return f"run-{stamp}-{tag}", f"rel-{stamp}-{tag}"


def _accounting(n_inputs, run_docs, ingest_quarantine, run_articles, clean_q, articles, clusters):
    docs = set(run_docs["doc_id"])
    produced = set(run_articles["doc_id"]) | set(clean_q["doc_id"].dropna())
    return pd.DataFrame([{
        "inputs": n_inputs,
        "documents_plus_ingest_quarantine": len(run_docs) + len(ingest_quarantine),
        "documents": len(docs),
        "documents_with_articles_plus_clean_quarantine": len(docs & produced),
        "articles": len(articles),
        "clustered_articles": int(articles["article_id"].isin(clusters["article_id"]).sum()),
    }])


# ------------------------------------------------------------------ one run's state

@dataclass
class Run:
    """What the stages of one run share: where it writes, what it has gated and counted."""
    lake: Lake
    batch_size: int
    expectations_dir: str | None
    cache_storage: LocalFileSystem | None
    workers: int = 1  # processes the clean and extract batches are spread over
    previous: dict = field(default_factory=dict)  # the previous release's tables
    previous_manifest: dict = field(default_factory=dict)
    # fingerprints of this run's stage code and suites, computed once (they key caches, the
    # carry-over decisions and the manifest)
    code: dict[str, str] = field(default_factory=dict)
    suites: str = ""
    gates: list[GateResult] = field(default_factory=list)
    quarantine: list[pd.DataFrame] = field(default_factory=list)
    funnel: list[tuple[str, int]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def gated(self, table: str, df: pd.DataFrame, stage: str, context: dict | None = None):
        kept, result = gate(table, df, stage, context, self.expectations_dir)
        self.gates.append(result)
        if len(result.quarantine):
            self.quarantine.append(result.quarantine)
        get_run_logger().info(
            "gate %-12s %s (%d rows, %d warnings, %d quarantined)", table,
            "PASS" if result.passed else "FAIL", len(kept), len(result.warnings),
            len(result.quarantine))
        return kept

    def cached(self, task_fn):
        return _cached(task_fn, self.cache_storage)

    @contextlib.contextmanager
    def timed(self, stage: str):
        t0, counted = time.perf_counter(), len(self.funnel)
        yield
        release_memory()  # what the stage freed goes back to the OS, not on to the next stage
        seconds = time.perf_counter() - t0
        self.timings[stage] = self.timings.get(stage, 0.0) + seconds
        log_progress(stage, seconds, self.funnel[counted:])

    def merged(self, table: str, current: pd.DataFrame, replaced: set[str]) -> pd.DataFrame:
        return accumulate.merge_table(self.previous.get(table), current, replaced)

    def built_like_previous(self, *modules: str, suites: bool = False) -> bool:
        """Was the previous release made by this run's code for `modules` (and, with `suites`,
        gated by the same suites)?"""
        if not self.previous:
            return False
        recorded = self.previous_manifest.get("code", {})
        return (all(recorded.get(m) == self.code[m] for m in modules)
                and (not suites or self.previous_manifest.get("expectations") == self.suites))

    def same_gates(self) -> bool:
        """Was the previous release gated by the same checks (gate code, suites, rules)?
        Then its rows passed them, and per-row checks need not run on them again."""
        return self.built_like_previous("newsgate.tasks.gates", "newsgate.tasks.clean", suites=True)


# ------------------------------------------------------------------ the stages

def ingest_stage(run: Run, paths: list[str], sources: list[str]):
    get_run_logger().info("ingest: %d files under %s", len(paths), ", ".join(sources))
    path_batches = batched(paths, run.batch_size)
    batches = [b.result() for b in run.cached(ingest_batch).map(
        path_batches, [file_stamps(b) for b in path_batches],
        unmapped(run.code["newsgate.tasks.ingest"]))]
    n_inputs = sum(b.n_inputs for b in batches)
    rejected = _concat([b.quarantine for b in batches])
    n_gate_quarantine = len(run.quarantine)
    documents = run.gated("documents", _unique_doc_ids(_concat([b.documents for b in batches])),
                          "ingest")
    # the documents gate's quarantine rows count as quarantined at ingest
    rejected = _concat([rejected, *run.quarantine[n_gate_quarantine:]])
    del run.quarantine[n_gate_quarantine:]
    run.funnel += [("inputs", n_inputs), ("documents", len(documents)),
                   ("quarantined at ingest", len(rejected))]
    return n_inputs, documents, rejected


def clean_stage(run: Run, documents: pd.DataFrame):
    batches = frame_batches(documents, run.batch_size, CLEAN_BATCH_MULTIPLE)
    get_run_logger().info("clean: %d documents in %d batches", len(documents), len(batches))
    cleaned = largest_first(run.cached(clean_batch), batches, "text", run.code["newsgate.tasks.clean"])
    replaced = set(documents["doc_id"])
    run_articles = _concat([c.articles for c in cleaned])
    rejected = _concat([c.quarantine for c in cleaned])
    context = {"previous_articles": run.previous.get("articles")}  # the full-date share check
    if run.same_gates():
        before = run.previous["articles"]
        context["verified_bodies"] = dict(zip(before["article_id"], before["body"]))
    articles = run.gated("articles", run.merged("articles", run_articles, replaced), "clean",
                         context)
    removals = run.gated("removals", run.merged(
        "removals", _concat([c.removals for c in cleaned]), replaced), "clean")
    run.funnel += [("articles (this run)", len(run_articles)),
                   ("quarantined at clean", len(rejected)), ("articles (release)", len(articles))]
    return run_articles, rejected, articles, removals


def dedup_stage(run: Run, articles: pd.DataFrame):
    """Cluster the release's articles; only articles new to the persisted index are signed."""
    from newsgate.tasks.dedup import NEAR_THRESHOLD, inherit_metadata
    prior = _load_dedup_index(run)
    deduped = dedup_all(articles, prior)
    # new rows, plus old rows whose cluster changed, over the previous release's rows
    rows = accumulate.upsert(None if prior is None else run.previous.get("clusters"),
                             deduped.clusters, "article_id")
    rows = rows[rows["article_id"].isin(articles["article_id"])]
    clusters = run.gated("clusters", rows, "dedup", {"near_threshold": NEAR_THRESHOLD})
    n_canonical = int(clusters["is_canonical"].astype(bool).sum())
    run.funnel += [("canonical articles", n_canonical),
                   ("duplicates", len(clusters) - n_canonical)]
    return inherit_metadata(articles, deduped.articles_update), clusters, deduped.index


def _unchanged_canonicals(run: Run, articles: pd.DataFrame, canonical: set[str]) -> set[str]:
    """Canonical articles whose facts the previous release already holds, computed from the
    very same inputs (body, title, date, dateline) by the same extractor code."""
    from newsgate.tasks.extract import EXTRACT_INPUTS
    prev_clusters, prev_articles = run.previous.get("clusters"), run.previous.get("articles")
    if prev_clusters is None or prev_articles is None:
        return set()
    if not run.built_like_previous("newsgate.tasks.extract"):
        return set()  # the extractors changed: every canonical article is extracted again
    prev_canonical = set(prev_clusters.loc[prev_clusters["is_canonical"].astype(bool), "article_id"])
    columns = [c for c in EXTRACT_INPUTS if c != "article_id"]
    now = articles[articles["article_id"].isin(canonical & prev_canonical)].set_index("article_id")
    before = prev_articles.set_index("article_id").reindex(now.index)
    same = pd.Series(True, index=now.index)
    for column in columns:  # column-wise comparisons run in Arrow, not per row in Python
        a, b = now[column], before[column]
        same &= (a == b).fillna(False).astype(bool) | (a.isna() & b.isna())
    return set(now.index[same.to_numpy()])


def extract_stage(run: Run, articles: pd.DataFrame, clusters: pd.DataFrame):
    """Facts of the canonical articles that need extracting (in the run's workers), and the
    canonicals whose facts carry over from the release unchanged."""
    canonical = set(clusters.loc[clusters["is_canonical"].astype(bool), "article_id"])
    keep = _unchanged_canonicals(run, articles, canonical)
    todo = articles[articles["article_id"].isin(canonical - keep)]
    get_run_logger().info("extract: %d canonical articles (%d carried over)", len(todo), len(keep))
    extracted = largest_first(run.cached(extract_batch),
                              frame_batches(todo, run.batch_size, run.workers), "body",
                              run.code["newsgate.tasks.extract"])
    return extracted, keep


def facts_stage(run: Run, articles: pd.DataFrame, extracted: list[dict], keep: set[str]):
    """The fact tables of the release: carried-over rows plus the extracted ones, gated."""
    facts = {}
    context = {"articles": articles, "verified": frozenset(keep if run.same_gates() else ())}
    for name in FACT_TABLES:
        old = run.previous.get(name)
        old = None if old is None else old[old["article_id"].isin(keep)]
        facts[name] = run.gated(name, accumulate.combine(old, _concat([x[name] for x in extracted])),
                                "extract", {**context, "previous": run.previous.get(name)})
        run.funnel.append((name, len(facts[name])))
    return facts


# ------------------------------------------------------------------ the flow

# Bounded: Prefect's default ThreadPoolTaskRunner() starts a thread per submitted task, and
# every in-flight batch holds its documents in memory.
@flow(name="newsgate", log_prints=True,
      task_runner=ThreadPoolTaskRunner(max_workers=available_cpus()))
def newsgate(sources: list[str] | None = None, out: str = "data", batch_size: int = 400,
             expectations_dir: str | None = None, review_mode: str = "auto",
             max_warnings: int = 10, review_timeout_s: int = 3600, cache: bool = True,
             workers: int | None = None, exclude: list[str] | None = None):
    """Run every stage over `sources` and publish a new release into `out` if all gates pass.

    When the gates pass with more than `max_warnings` warnings, the review step decides
    (see flows/review.py for `review_mode`). Clean and extract batches run in `workers`
    processes (default: the available CPUs; 1 = in the flow's own process). Files matching
    `exclude` (gitignore-style globs) or a source folder's `.newsgateignore` are not read, and
    counted in the funnel."""
    log = get_run_logger()
    sources = [str(s) for s in (sources or DEFAULT_SOURCES)]
    lake = Lake(Path(out))
    run_id, release_id = _new_ids()
    run_dir = lake.run_dir(run_id)
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    run = Run(lake, batch_size, expectations_dir, None,
              code={m: code_fingerprint(m) for m in STAGE_MODULES},
              suites=_suites_fingerprint(expectations_dir))
    tables: dict[str, pd.DataFrame] = {}
    status, error, manifest, blocked_by, verdict = "failed", None, None, [], None
    data_docs: Future | None = None

    def summary(status_now: str, release: str | None) -> RunSummary:
        return RunSummary(
            run_id=run_id, status=status_now, release_id=release, sources=sources,
            funnel=run.funnel, gates=run.gates, started_at=started,
            finished_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            blocked_by=blocked_by, error=error, tables=tables, timings=run.timings)

    try:
        with lake.lock():
            run.cache_storage = _cache_storage(lake.root) if cache else None
            kept, excluded = exclude_paths(discover(sources), sources, exclude or ())
            paths = [str(p) for p in kept]
            run.funnel.append(("excluded files", len(excluded)))
            # a large run starts its worker processes at once: they import and load their
            # dictionaries while this process reads the release and ingests (not under Dask,
            # whose workers run the batches themselves)
            large = estimate_documents(paths, PARALLEL_MIN_DOCS) >= PARALLEL_MIN_DOCS
            local = isinstance(FlowRunContext.get().task_runner, ThreadPoolTaskRunner)
            with worker_pool(workers if large else 1,
                             warm=WORKER_WARM_UP if large and local else ()) as run.workers:
                with run.timed("read release"):  # what this run builds on
                    if lake.latest_release_id():
                        run.previous_manifest = lake.manifest()
                        run.previous = lake.read_release(run.previous_manifest["release_id"])
                with run.timed("ingest"):
                    n_inputs, run_docs, ingest_q = ingest_stage(run, paths, sources)
                unchanged = _nothing_new(run, run_docs, ingest_q)
                if unchanged:
                    raise NothingNew(unchanged)
                with run.timed("clean"):
                    run_articles, clean_q, articles, removals = clean_stage(run, run_docs)
                with run.timed("dedup"):
                    articles, clusters, dedup_index = dedup_stage(run, articles)
                with run.timed("extract"):
                    extracted, carried = extract_stage(run, articles, clusters)
            with run.timed("extract"):  # the workers are gone: gating needs none (less memory)
                facts = facts_stage(run, articles, extracted, carried)
            with run.timed("aggregate"):
                region_stats = run.gated(
                    "region_stats", aggregate(articles, clusters, facts["mentions"], facts["projects"]),
                    "aggregate", {"projects": facts["projects"]})

            run.gated("accounting", _accounting(n_inputs, run_docs, ingest_q, run_articles,
                                                clean_q, articles, clusters), "publish")
            run_quarantine = _concat([ingest_q, clean_q, *run.quarantine])
            quarantine = run.gated("quarantine", accumulate.merge_quarantine(
                run.previous.get("quarantine"), run_quarantine.reindex(columns=QUARANTINE_COLUMNS),
                set(paths)), "publish")
            run.funnel.append(("quarantined (this run)", len(run_quarantine)))
            # every gate has run: GX renders their Data Docs (Python) while publishing writes
            # the Delta tables (in Rust, without the GIL)
            data_docs = _in_background(build_data_docs, run_dir / "data_docs", run_id,
                                       list(run.gates))
            tables = {"documents": run.merged("documents", run_docs, set(run_docs["doc_id"])),
                      "articles": articles, "removals": removals, "clusters": clusters, **facts,
                      "region_stats": region_stats, "quarantine": quarantine}

            blocked_by = [f"{c.table}: {c.check} — {c.description}"
                          for g in run.gates for c in g.failed_errors]
            if blocked_by:
                status = "blocked"
                raise GateBlocked("; ".join(blocked_by))
            n_warnings = sum(len(g.warnings) for g in run.gates)
            if needs_review(n_warnings, max_warnings):
                pending = summary("awaiting review", None)
                verdict = review(review_mode, render_markdown(pending),
                                 str(write_report(pending, run_dir)), review_timeout_s)
                log.info("review: %s", verdict.describe())
                if not verdict.approved:
                    status = "rejected"
                    raise ReviewRejected(f"{n_warnings} warnings; {verdict.describe()}")
            with run.timed("publish"):
                index_dir = dedup_index.save(lake.state_dir("dedup", release_id))
                manifest = publish(lake, release_id, tables, {
                    "dedup_index": str(index_dir.relative_to(lake.root)),
                    "run_id": run_id, "code_version": CODE_VERSION, "sources": sources,
                    "code": run.code, "expectations": run.suites,
                    "inputs_fingerprint": _fingerprint(run_docs),
                    "gates": {g.table: {"pass": sum(c.status == "pass" for c in g.checks),
                                        "warn": len(g.warnings), "fail": len(g.failed_errors)}
                              for g in run.gates},
                    "report": str(run_dir / "report.html"),
                    **({"review": verdict.record()} if verdict else {}),
                })
            status = "published"
    except (GateBlocked, ReviewRejected) as exc:
        status = "blocked" if isinstance(exc, InvariantBroken) else status
        error = str(exc)
    except NothingNew as exc:  # a re-run of published input: LATEST already holds the result
        status, error = "unchanged", str(exc)
        log.info("%s", exc)
    except PublishLocked as exc:  # another run holds `out`: nothing was touched
        status, error = "locked", str(exc)
    except LakeError as exc:  # a lost LATEST, a damaged release: the message names the file
        error = str(exc)
        log.error("run failed: %s", error)
    except Exception:  # the report must still say what happened
        error = traceback.format_exc()
        log.error("run failed: %s", error)
    final = summary(status, {"published": release_id,
                             "unchanged": run.previous_manifest.get("release_id")}.get(status))
    with run.timed("report"):  # (after the report's own timings table was rendered)
        try:
            final.data_docs = (data_docs.result() if data_docs is not None
                               else build_data_docs(run_dir / "data_docs", run_id, run.gates))
        except Exception as exc:  # the docs are a convenience; the report must still be written
            log.warning("GX Data Docs not built: %s", exc)
        report = write_report(final, run_dir)
        _post_artifacts(final)
    log.info("report: %s", report)
    result = {"status": status, "run_id": run_id, "release_id": final.release_id,
              "report": str(report), "blocked_by": blocked_by, "error": error,
              "manifest": manifest, "funnel": dict(run.funnel), "timings": run.timings}
    if status in ("published", "unchanged"):
        return result
    # blocked, rejected, locked or failed: the flow run ends in a red state named for what
    # happened (Blocked, Rejected, Failed) with the reason, the result attached
    return Failed(name=FINAL_STATES.get(status, "Failed"), data=result,
                  message=f"newsgate run {status}: {error}"[:2000])


def run_newsgate(flow_fn=None, **params) -> dict:
    """Run the flow and return its result dict whatever the final state (the CLI and tests)."""
    state = (flow_fn or newsgate)(**params, return_state=True)
    return state.result(raise_on_failure=False)


def _post_artifacts(summary: RunSummary) -> None:
    create_markdown_artifact(key="newsgate-run-summary", markdown=render_markdown(summary),
                             description=f"newsgate run {summary.run_id}")
    rows = gate_rows(summary.gates)
    if rows:
        create_table_artifact(key="newsgate-gate-results", table=rows,
                              description="every gate check of the run")
