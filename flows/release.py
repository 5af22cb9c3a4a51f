"""From gated tables to a committed release, and what follows it.

    gate_run(run)        the run's accounting and the quarantine table, gated
    decide(run, ...)     blocked (a critical check failed), or the review step's verdict
    publish(run)         free space checked, stage states saved, Delta versions written, manifest
                         (with the review's decision) + LATEST committed:
                         the run is published exactly when the commit returned
    finish(run)          report, GX Data Docs, Prefect artifacts: best effort, after the commit
                         a failure is a warning on the published run, never a failed one
"""
from __future__ import annotations

import hashlib
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from newsgate.flows.review import needs_review, review_run
from newsgate.flows.run import GateBlocked, InvariantBroken, ReviewRejected, Run
from newsgate.flows.stage_runner import gated
from newsgate.schemas.contract import QUARANTINE_COLUMNS
from newsgate.tasks import accumulate
from newsgate.tasks.gates import build_data_docs
from newsgate.tasks.invariants import check_release
from newsgate.tasks.publish import Lake
from newsgate.tasks.reader import ReleaseView
from newsgate.tasks.report import READS as REPORT_READS
from newsgate.tasks.report import RunSummary, gate_rows, render_markdown, write_report
from newsgate.tasks.stage import among

CODE_VERSION = "0.1.0"


def gate_run(run: Run) -> None:
    """Gate the run's accounting (every input is a document or quarantined, every document
    yields articles or a quarantine row, every article is clustered), then the quarantine."""
    ingest, clean = run.outputs["ingest"], run.outputs["clean"]
    docs = set(ingest.kept["documents"]["doc_id"])
    produced = set(clean.made["articles"]["doc_id"]) | set(clean.rejected["doc_id"].dropna())
    view = run.view()  # the release being built: its ids only
    articles = view.release("articles", ["article_id"])["article_id"]
    clustered = view.release("clusters", ["article_id"])["article_id"]
    gated(run, "accounting", pd.DataFrame([{
        "inputs": len(ingest.made["documents"]) + len(ingest.rejected),
        "documents_plus_ingest_quarantine": len(docs) + ingest.quarantined,
        "documents": len(docs),
        "documents_with_articles_plus_clean_quarantine": len(docs & produced),
        "articles": len(articles),
        "clustered_articles": int(among(articles, clustered).sum()),
    }]), "publish")
    this_run = pd.concat(run.quarantine, ignore_index=True) if run.quarantine else None
    this_run = (this_run if this_run is not None else pd.DataFrame()).reindex(columns=QUARANTINE_COLUMNS)
    before = run.previous.read("quarantine") if "quarantine" in run.previous else None
    run.tables["quarantine"], _ = gated(run, "quarantine", accumulate.merge_quarantine(
        before, this_run, set(run.files)), "publish")
    run.changes["quarantine"] = None  # (written whole: a source seen again replaces its verdicts)
    run.funnel.append(("quarantined (this run)", len(this_run)))


def decide(run: Run, review_mode: str, max_warnings: int, review_timeout_s: int) -> None:
    """Raise unless the release may be published: no critical check failed and, when warnings
    pile up, the review step approved it."""
    run.blocked_by = [f"{c.table}: {c.check} — {c.description}"
                      for g in run.gates for c in g.failed_errors]
    if run.blocked_by:
        run.status = "blocked"
        raise GateBlocked("; ".join(run.blocked_by))
    n_warnings = sum(len(g.warnings) for g in run.gates)
    if needs_review(n_warnings, max_warnings):
        run.verdict = review_run(review_mode, summary(run, "awaiting review", None), run.run_dir,
                                 review_timeout_s)
        get_run_logger().info("review: %s", run.verdict.describe())
        if not run.verdict.approved:
            raise ReviewRejected(f"{n_warnings} warnings; {run.verdict.describe()}")


@task(name="publish", cache_policy=NO_CACHE)
def _commit(lake: Lake, release_id: str, tables: dict, meta: dict) -> dict:
    """Write the Delta versions, check the table-wide invariants over them (columnar scans,
    tasks/invariants.py), and commit only when they hold."""
    def audit(entries: dict) -> None:
        broken = check_release(lake, entries)
        if broken:
            raise InvariantBroken("; ".join(f"{rule}: {problems[0]}"
                                            for rule, problems in broken.items()))
    return lake.publish(release_id, tables, meta, audit=audit)


def publish(run: Run) -> None:
    """Commit the release. Everything before the commit may fail and leaves LATEST as it was;
    the run is `published` from the moment the commit returns."""
    tables = dict(run.tables)  # every table a stage wrote, the quarantine
    run.lake.ensure_free_space(tables)  # before the stages' states are saved
    # every gate has run: GX renders their Data Docs (Python) while the Delta tables are
    # written (in Rust, without the GIL)
    run.background.append(_in_background(build_data_docs, run.run_dir / "data_docs", run.run_id,
                                         list(run.gates)))
    with run.timed("publish"):
        # each stage's state (tasks/stage.py: `state_key`), checksummed with the release
        meta = {key: str(state.save(run.lake.state_dir(name, run.release_id))
                         .relative_to(run.lake.root))
                for name, (key, state) in run.states.items()}
        changed = {t: run.changes.get(t) or df for t, df in tables.items()}
        manifest = _commit(run.lake, run.release_id, changed, {
            **meta, "run_id": run.run_id, "code_version": CODE_VERSION, "sources": run.sources,
            "code": run.code, "expectations": run.suites,
            "inputs_fingerprint": _fingerprint(run.outputs["ingest"].kept["documents"]),
            "gates": {g.table: {"pass": sum(c.status == "pass" for c in g.checks),
                                "warn": len(g.warnings), "fail": len(g.failed_errors)}
                      for g in run.gates},
            "report": str(run.run_dir / "report.html"),
            **({"review": run.verdict.record()} if run.verdict else {})})
        run.manifest, run.status = manifest, "published"


def finish(run: Run) -> Path | None:
    """The run's report (also for blocked and failed runs), Data Docs and artifacts. None of
    it may change the run's status: a failure here is logged and kept as a warning."""
    log = get_run_logger()
    final = summary(run, run.status, run.release_id if run.status == "published" else
                    run.previous_manifest.get("release_id") if run.status == "unchanged" else None)
    report = None
    with run.timed("report"):  # (after the report's own timings table was rendered)
        for step, work in (("GX Data Docs", lambda: _data_docs(run, final)),
                           ("report", lambda: write_report(final, run.run_dir)),
                           ("Prefect artifacts", lambda: _post_artifacts(final))):
            try:
                done = work()
            except Exception as exc:  # best effort: the outcome is already decided
                run.warnings.append(f"{step} not written: {type(exc).__name__}: {exc}")
                log.warning("%s", run.warnings[-1])
                continue
            report = done if step == "report" else report
    if report is not None:
        log.info("report: %s", report)
    return report


def summary(run: Run, status: str, release: str | None) -> RunSummary:
    return RunSummary(
        run_id=run.run_id, status=status, release_id=release, sources=run.sources,
        funnel=run.funnel, gates=run.gates, started_at=run.started_at,
        finished_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        # the release built and the previous one, read by the report as it needs them
        blocked_by=run.blocked_by, error=run.error, tables=run.view(REPORT_READS),
        timings=run.timings,
        previous_release=run.previous_manifest.get("release_id"),
        previous_tables=ReleaseView(run.previous, {}, {}),
        review=run.verdict.record() if run.verdict else None)


def _data_docs(run: Run, final: RunSummary) -> None:
    pending = [f for f in run.background if isinstance(f, Future)]
    final.data_docs = (pending[0].result() if pending
                       else build_data_docs(run.run_dir / "data_docs", run.run_id, run.gates))


def _post_artifacts(final: RunSummary) -> None:
    create_markdown_artifact(key="newsgate-run-summary", markdown=render_markdown(final),
                             description=f"newsgate run {final.run_id}")
    rows = gate_rows(final.gates)
    if rows:
        create_table_artifact(key="newsgate-gate-results", table=rows,
                              description="every gate check of the run")


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
