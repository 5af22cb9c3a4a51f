"""The `newsgate` flow: ingest → clean → dedup → extract → aggregate → publish, every stage gated.

Reads top-down like a recipe. Each stage is a thin Prefect task over a *batch* of documents
(never one task per document); the pure logic lives in tasks/. Nothing is published unless
every gate passed; a blocked or failed run still writes its report.
"""
from __future__ import annotations

import hashlib
import os
import time
import traceback
import uuid
from datetime import datetime, timezone
from pathlib import Path

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

import pandas as pd
from prefect import flow, get_run_logger, task, unmapped
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import INPUTS, NO_CACHE, TASK_SOURCE
from prefect.filesystems import LocalFileSystem
from prefect.states import Failed

from flows.review import needs_review, review
from tasks import accumulate
from tasks.gates import QUARANTINE_COLUMNS, GateResult, build_data_docs, run_gate
from tasks.publish import Lake, PublishLocked
from tasks.report import RunSummary, gate_rows, render_markdown, write_report

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCES = [str(ROOT / "seeds")]
FACT_TABLES = ["mentions", "projects", "indicators", "visits", "keywords"]
CODE_VERSION = "0.1.0"


class GateBlocked(RuntimeError):
    """A gate failed an error-severity check: nothing is published."""


class ReviewRejected(RuntimeError):
    """The reviewer (or the lack of one) did not approve the release."""


def batched(items: list, size: int) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)] or [[]]


def frame_batches(df: pd.DataFrame, size: int) -> list[pd.DataFrame]:
    return [df.iloc[i:i + size] for i in range(0, len(df), size)] or [df]


# ------------------------------------------------------------------ stage tasks (thin)
# The per-batch stages are cached on their inputs, the task's source and a fingerprint of the
# stage's own code (`code`), with results persisted under <out>/cache: a re-run over unchanged
# input recomputes nothing, and changing a cleaning rule invalidates exactly the clean stage.
CACHED = INPUTS + TASK_SOURCE


@task(name="ingest", cache_policy=CACHED)
def ingest_batch(paths: list[str], stamps: list[tuple[int, int]], code: str):
    from tasks.ingest import ingest_files
    return ingest_files([Path(p) for p in paths])


@task(name="clean", cache_policy=CACHED)
def clean_batch(documents: pd.DataFrame, code: str):
    from tasks.clean import clean_documents
    return clean_documents(documents)


@task(name="dedup", cache_policy=NO_CACHE)
def dedup_all(articles: pd.DataFrame, prior=None):
    from tasks.dedup import dedup_articles
    return dedup_articles(articles, prior)


@task(name="extract", cache_policy=CACHED)
def extract_batch(articles: pd.DataFrame, code: str) -> dict[str, pd.DataFrame]:
    from tasks.extract import extract_articles
    return extract_articles(articles)


@task(name="aggregate", cache_policy=NO_CACHE)
def aggregate(articles, clusters, mentions, projects) -> pd.DataFrame:
    from tasks.aggregate import region_stats
    return region_stats(articles, clusters, mentions, projects)


@task(name="gate", cache_policy=NO_CACHE, task_run_name="gate-{table}")
def gate(table: str, df: pd.DataFrame, stage: str, context: dict | None = None,
         suites_dir: str | None = None) -> tuple[pd.DataFrame, GateResult]:
    return run_gate(table, df, stage=stage, context=context, suites_dir=suites_dir)


@task(name="publish", cache_policy=NO_CACHE)
def publish(lake: Lake, release_id: str, tables: dict, meta: dict) -> dict:
    return lake.publish(release_id, tables, meta)


# ------------------------------------------------------------------ helpers

def code_fingerprint(*modules: str) -> str:
    """Hash of the source and data files of the stage's modules (what its output depends on)."""
    h = hashlib.sha256()
    for module in modules:
        path = ROOT / Path(*module.split("."))
        files = sorted(path.rglob("*")) if path.is_dir() else [path.with_suffix(".py")]
        for f in files:
            if f.is_file() and f.suffix in (".py", ".json", ".txt") and "__pycache__" not in f.parts:
                h.update(f.relative_to(ROOT).as_posix().encode())
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


def _load_dedup_index(lake: Lake, previous: dict):
    """The previous release's dedup index, when it was built by compatible code."""
    if not previous:
        return None
    from tasks.dedup import DedupIndex
    manifest = lake.manifest()
    path = manifest.get("dedup_index")
    if not path or manifest.get("code_version") != CODE_VERSION:
        return None  # other code may have cleaned other bodies: dedup everything again
    path = lake.root / path
    if not path.exists():
        return None
    try:
        return DedupIndex.load(path)
    except ValueError as exc:  # other parameters: recompute everything
        get_run_logger().warning("dedup index not reused: %s", exc)
        return None


def _fingerprint(documents: pd.DataFrame) -> str:
    h = hashlib.sha256()
    for doc_id in sorted(documents["doc_id"]):
        h.update(doc_id.encode())
    return h.hexdigest()[:16]


def _new_ids() -> tuple[str, str]:
    now = datetime.now(timezone.utc)
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    tag = uuid.uuid4().hex[:6]
    return f"run-{stamp}-{tag}", f"rel-{stamp}-{tag}"


def _accounting(n_inputs, run_docs, ingest_q, doc_gate_q, run_articles, clean_q, articles, clusters):
    docs = set(run_docs["doc_id"])
    produced = set(run_articles["doc_id"]) | set(clean_q["doc_id"].dropna())
    return pd.DataFrame([{
        "inputs": n_inputs,
        "documents_plus_ingest_quarantine": len(run_docs) + len(ingest_q) + len(doc_gate_q),
        "documents": len(docs),
        "documents_with_articles_plus_clean_quarantine": len(docs & produced),
        "articles": len(articles),
        "clustered_articles": int(articles["article_id"].isin(clusters["article_id"]).sum()),
    }])


# ------------------------------------------------------------------ the flow

@flow(name="newsgate", log_prints=True)
def newsgate(sources: list[str] | None = None, out: str = "data", batch_size: int = 400,
             expectations_dir: str | None = None, review_mode: str = "auto",
             max_warnings: int = 10, review_timeout_s: int = 3600, cache: bool = True) -> dict:
    """Run every stage over `sources` and publish a new release into `out` if all gates pass.

    When the gates pass with more than `max_warnings` warnings, the review step decides
    (see flows/review.py for `review_mode`)."""
    log = get_run_logger()
    sources = [str(s) for s in (sources or DEFAULT_SOURCES)]
    lake = Lake(Path(out))
    run_id, release_id = _new_ids()
    run_dir = lake.run_dir(run_id)
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    gates: list[GateResult] = []
    timings: dict[str, float] = {}
    funnel: list[tuple[str, int]] = []
    tables: dict[str, pd.DataFrame] = {}
    status, error, manifest, blocked_by = "failed", None, None, []

    def gated(table, df, stage, context=None):
        kept, result = gate(table, df, stage, context, expectations_dir)
        gates.append(result)
        if result.quarantine is not None and len(result.quarantine):
            gate_quarantine.append(result.quarantine)
        log.info("gate %-12s %s (%d rows, %d warnings, %d quarantined)", table,
                 "PASS" if result.passed else "FAIL", len(kept), len(result.warnings),
                 len(result.quarantine))
        return kept

    def _summary(status_now: str, release: str | None) -> RunSummary:
        return RunSummary(
            run_id=run_id, status=status_now, release_id=release, sources=sources,
            funnel=funnel, gates=gates, started_at=started,
            finished_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            blocked_by=blocked_by, error=error, tables=tables, timings=timings)

    gate_quarantine: list[pd.DataFrame] = []
    try:
        with lake.lock():
            from tasks.ingest import discover
            t0 = time.perf_counter()
            paths = [str(p) for p in discover(sources)]
            log.info("ingest: %d files under %s", len(paths), ", ".join(sources))
            storage = _cache_storage(lake.root) if cache else None
            ingest_t, clean_t, extract_t = (_cached(t, storage) for t in
                                            (ingest_batch, clean_batch, extract_batch))
            path_batches = batched(paths, batch_size)
            batches = [b.result() for b in ingest_t.map(
                path_batches, [file_stamps(b) for b in path_batches],
                unmapped(code_fingerprint("tasks.ingest")))]
            n_inputs = sum(b.n_inputs for b in batches)
            run_docs = _unique_doc_ids(_concat([b.documents for b in batches]))
            ingest_q = _concat([b.quarantine for b in batches])
            q_before = len(gate_quarantine)
            run_docs = gated("documents", run_docs, "ingest")
            doc_gate_q = _concat(gate_quarantine[q_before:]) if len(gate_quarantine) > q_before \
                else pd.DataFrame(columns=QUARANTINE_COLUMNS)
            timings["ingest"] = time.perf_counter() - t0
            funnel += [("inputs", n_inputs), ("documents", len(run_docs)),
                       ("quarantined at ingest", len(ingest_q) + len(doc_gate_q))]

            previous = lake.read_release() if lake.latest_release_id() else {}
            replaced = set(run_docs["doc_id"])
            merge = lambda name, df: accumulate.merge_table(previous.get(name), df, replaced)  # noqa: E731

            t0 = time.perf_counter()
            log.info("clean: %d documents in %d batches", len(run_docs),
                     len(frame_batches(run_docs, batch_size)))
            cleaned = [c.result() for c in clean_t.map(
                frame_batches(run_docs, batch_size), unmapped(code_fingerprint("tasks.clean")))]
            run_articles = _concat([c.articles for c in cleaned])
            clean_q = _concat([c.quarantine for c in cleaned])
            articles = gated("articles", merge("articles", run_articles), "clean")
            removals = gated("removals", merge("removals", _concat([c.removals for c in cleaned])), "clean")
            timings["clean"] = time.perf_counter() - t0
            funnel += [("articles (this run)", len(run_articles)),
                       ("quarantined at clean", len(clean_q)),
                       ("articles (release)", len(articles))]

            t0 = time.perf_counter()
            from tasks.dedup import NEAR_THRESHOLD, inherit_metadata
            prior = _load_dedup_index(lake, previous)
            deduped = dedup_all(articles, prior)
            # new rows, plus old rows whose cluster changed, over the previous release's rows
            cluster_rows = accumulate.upsert(
                None if prior is None else previous.get("clusters"), deduped.clusters, "article_id")
            cluster_rows = cluster_rows[cluster_rows["article_id"].isin(articles["article_id"])]
            clusters = gated("clusters", cluster_rows, "dedup", {"near_threshold": NEAR_THRESHOLD})
            articles = inherit_metadata(articles, deduped.articles_update)
            canonical_ids = set(clusters.loc[clusters["is_canonical"].astype(bool), "article_id"])
            timings["dedup"] = time.perf_counter() - t0
            funnel += [("canonical articles", len(canonical_ids)),
                       ("duplicates", len(clusters) - len(canonical_ids))]

            t0 = time.perf_counter()
            # facts of unchanged canonical articles carry over; the rest is extracted now
            prev_clusters = previous.get("clusters")
            prev_canonical = set() if prev_clusters is None else set(
                prev_clusters.loc[prev_clusters["is_canonical"].astype(bool), "article_id"])
            keep_facts = (canonical_ids & prev_canonical) - set(run_articles["article_id"])
            to_extract = articles[articles["article_id"].isin(canonical_ids - keep_facts)]
            log.info("extract: %d canonical articles (%d carried over)", len(to_extract), len(keep_facts))
            extracted = [e.result() for e in extract_t.map(
                frame_batches(to_extract, batch_size), unmapped(code_fingerprint("tasks.extract")))]
            facts = {}
            context = {"articles": articles}
            for name in FACT_TABLES:
                old = previous.get(name)
                old = None if old is None else old[old["article_id"].isin(keep_facts)]
                facts[name] = gated(name, accumulate.combine(old, _concat([x[name] for x in extracted])),
                                    "extract", context)
            timings["extract"] = time.perf_counter() - t0
            funnel += [(f"{name}", len(df)) for name, df in facts.items()]

            t0 = time.perf_counter()
            stats = aggregate(articles, clusters, facts["mentions"], facts["projects"])
            region_stats = gated("region_stats", stats, "aggregate", {"projects": facts["projects"]})
            timings["aggregate"] = time.perf_counter() - t0

            documents = merge("documents", run_docs)
            run_quarantine = _concat([ingest_q, clean_q, *gate_quarantine])
            quarantine = gated("quarantine", accumulate.merge_quarantine(
                previous.get("quarantine"), run_quarantine.reindex(columns=QUARANTINE_COLUMNS),
                set(paths)), "publish")
            gated("accounting", _accounting(n_inputs, run_docs, ingest_q, doc_gate_q, run_articles,
                                            clean_q, articles, clusters), "publish")
            funnel.append(("quarantined (this run)", len(run_quarantine)))

            tables = {"documents": documents, "articles": articles, "removals": removals,
                      "clusters": clusters, **facts, "region_stats": region_stats,
                      "quarantine": quarantine}
            blocked_by = [f"{c.table}: {c.check} — {c.description}"
                          for g in gates for c in g.failed_errors]
            if blocked_by:
                status = "blocked"
                raise GateBlocked("; ".join(blocked_by))
            n_warnings = sum(len(g.warnings) for g in gates)
            if needs_review(n_warnings, max_warnings):
                pending = _summary("awaiting review", None)
                verdict = review(review_mode, render_markdown(pending),
                                 str(write_report(pending, run_dir)), review_timeout_s)
                log.info("review: %s by %s %s", "approved" if verdict.approved else "rejected",
                         verdict.by, verdict.comment)
                if not verdict.approved:
                    status = "rejected"
                    raise ReviewRejected(f"{n_warnings} warnings; rejected by {verdict.by}")
            t0 = time.perf_counter()
            index_dir = deduped.index.save(lake.state_dir("dedup", release_id))
            manifest = publish(lake, release_id, tables, {
                "dedup_index": str(index_dir.relative_to(lake.root)),
                "run_id": run_id, "code_version": CODE_VERSION, "sources": sources,
                "inputs_fingerprint": _fingerprint(run_docs),
                "gates": {g.table: {"pass": sum(c.status == "pass" for c in g.checks),
                                    "warn": len(g.warnings), "fail": len(g.failed_errors)}
                          for g in gates},
                "report": str(run_dir / "report.html"),
            })
            timings["publish"] = time.perf_counter() - t0
            status = "published"
    except (GateBlocked, ReviewRejected) as exc:
        error = str(exc)
    except PublishLocked as exc:  # another run holds `out`: nothing was touched
        status, error = "locked", str(exc)
    except Exception:  # the report must still say what happened
        error = traceback.format_exc()
        log.error("run failed: %s", error)
    summary = _summary(status, release_id if status == "published" else None)
    try:
        summary.data_docs = build_data_docs(run_dir / "data_docs", run_id, gates)
    except Exception as exc:  # the docs are a convenience; the report must still be written
        log.warning("GX Data Docs not built: %s", exc)
    report = write_report(summary, run_dir)
    _post_artifacts(summary)
    log.info("report: %s", report)
    result = {"status": status, "run_id": run_id, "release_id": summary.release_id,
              "report": str(report), "blocked_by": blocked_by, "error": error,
              "manifest": manifest, "funnel": dict(funnel), "timings": timings}
    if status in ("published", "rejected"):
        return result
    # blocked, locked or failed: the flow run ends Failed (red in the UI), the result attached
    return Failed(message=f"newsgate run {status}: {error}"[:2000], data=result)


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
