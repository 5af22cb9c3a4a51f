"""The stage runner: what every declared stage (tasks/stage.py) gets done alike.

    apply(run, stage)

1. Input: the rows of the table the stage reads that it must process: this run's documents
   ("replace"), the rows that changed since the previous release ("unchanged"), or its
   `select`ion; the units whose earlier rows carry over instead.
2. Work: a per-batch stage's rows are split into even batches of at most --batch-size rows,
   each a Prefect task cached on its rows and the stage's code, run on the run's workers, the
   longest first; all batches' rows become one frame per table. A whole-release stage is one
   task over the release's tables and the state the previous release saved for it.
3. The release's rows of each table written: this run's rows plus what carries over
   (`stage.carry`), through the table's gate; its quarantine rows and counts are collected.

A stage that would only redo what the latest release holds stops the run (`NothingNew`).
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
from prefect import get_run_logger, task
from prefect.cache_policies import INPUTS, NO_CACHE, TASK_SOURCE
from prefect.filesystems import LocalFileSystem

from newsgate import module_files
from newsgate.flows.progress import track
from newsgate.flows.run import NothingNew, Run, StageOutput
from newsgate.schemas.contract import QUARANTINE_COLUMNS
from newsgate.tasks import accumulate
from newsgate.schemas.contract import TABLE_KEYS
from newsgate.tasks.publish import SEQUENCE, Change
from newsgate.tasks.gates import GATES_CODE, EXPECTATIONS_DIR, GateContext, GateResult, run_gate
from newsgate.tasks.records import to_records
from newsgate.tasks.stage import Stage
from newsgate.tasks.workers import even_bounds

# A batch's cache key: its rows, the task's source and the stage's code fingerprint (`code`):
# a re-run over unchanged input recomputes nothing, and changing a cleaning rule invalidates
# exactly the clean stage. The stage and the workers are how, not what: not part of the key.
CACHED = (INPUTS - "stage" - "workers") + TASK_SOURCE


@task(cache_policy=CACHED)
def run_batch(stage: Stage, rows: list[dict], code: str, workers) -> dict[str, list[dict]]:
    """One batch of a stage: in one of the run's worker processes when it has a pool."""
    if stage.batches.in_workers:
        return workers.call(stage.function, rows)
    return stage.function(rows)


@task(cache_policy=NO_CACHE)
def run_whole(stage: Stage, tables: dict, prior):
    return stage.function(tables, prior)


@task(name="gate", cache_policy=NO_CACHE, task_run_name="gate-{table}")
def gate(table: str, df: pd.DataFrame, stage: str, context: GateContext | None = None,
         suites_dir: str | None = None) -> tuple[pd.DataFrame, GateResult]:
    return run_gate(table, df, stage=stage, context=context, suites_dir=suites_dir)


def gated(run: Run, table: str, df: pd.DataFrame, stage: str,
          context: GateContext | None = None) -> tuple[pd.DataFrame, int]:
    """The rows of `df` that pass the table's gate, and how many it quarantined."""
    kept, result = gate(table, df, stage, context, run.expectations_dir)
    run.gates.append(result)
    if len(result.quarantine):
        run.quarantine.append(result.quarantine)
    get_run_logger().info(
        "gate %-12s %s (%d rows, %d warnings, %d quarantined)", table,
        "PASS" if result.passed else "FAIL", len(kept), len(result.warnings),
        len(result.quarantine))
    return kept, len(result.quarantine)


# ------------------------------------------------------------------ a stage

def apply(run: Run, stage: Stage, close_workers: bool = False) -> StageOutput:
    """Run `stage` and put its gated tables into the release being built. `close_workers`: no
    later stage needs the worker processes, so they go before the gates run (less memory)."""
    with run.timed(stage.name):
        rows, carried = _input(run, stage)
        if stage.batches is None:
            made, resumed = _whole(run, stage)
        else:
            made, resumed = _batched(run, stage, rows, len(carried)), False
        if close_workers:
            run.workers.close()
        output = run.outputs[stage.name] = StageOutput(made, made.pop("quarantine"))
        if len(output.rejected):
            run.quarantine.append(output.rejected)
        _gate_tables(run, stage, output, carried, resumed)
        for table in [t for t in made if t not in stage.writes]:  # a new version of one it reads
            _note_rewrite(run, table, run.tables[table], made[table])
            run.tables[table] = made[table]
        run.funnel += [*(stage.counts(output, run.tables) if stage.counts else []),
                       *((t, len(output.kept[t])) for t in stage.writes)]
        if output.quarantined or stage.batches:  # (a whole-release stage rarely quarantines)
            run.funnel.append((f"quarantined at {stage.name}", output.quarantined))
        return output


def _gate_tables(run: Run, stage: Stage, output: StageOutput, carried: set, resumed: bool) -> None:
    """Each table the stage writes, as the release will hold it, through its gate."""
    context = GateContext(run.tables, run.previous, run.same_gates(), frozenset(carried),
                          run.workers)
    output.quarantined = len(output.rejected)
    for table in stage.writes:
        this_run = output.made[table]
        if not stage.gate_release:  # this run's rows are gated before they join the release
            this_run, n = gated(run, table, this_run, stage.name, context)
            output.quarantined += n
        if table == "documents":  # they replace their own rows of every "replace" table
            run.replaced = set(this_run["doc_id"])
        release = _release_rows(run, stage, table, this_run, carried, resumed)
        if stage.gate_release:
            release, n = gated(run, table, release, stage.name, context)
            output.quarantined += n
        run.tables[table] = release
        run.changes[table] = _change(run, stage, table, release, carried, resumed)
        output.kept[table] = release if stage.gate_release else this_run


def _input(run: Run, stage: Stage) -> tuple[list[dict], set]:
    """The rows the stage must process, and the units whose earlier rows carry over."""
    if stage.input == "files":
        return run.file_rows(), set()
    table = stage.select(run.tables) if stage.select else run.tables[stage.input]
    if stage.carry == "replace":
        table = table[accumulate.doc_ids_of(table).isin(run.replaced)]
        if stage.input in run.previous:
            stop_if_nothing_new(run, stage, table)
    carried = _unchanged(run, stage, table) if stage.carry == "unchanged" else set()
    if carried:
        table = table[~table[stage.key].isin(carried)]
    return (to_records(table, stage.columns) if stage.batches else []), carried


def _unchanged(run: Run, stage: Stage, table: pd.DataFrame) -> set:
    """Units whose rows the previous release holds, made from the very same input (the columns
    the stage reads) by the same stage code."""
    if not run.built_like_previous(stage.name) or any(t not in run.previous for t in stage.reads):
        return set()  # other code: every unit is processed again
    before = stage.select(run.previous) if stage.select else run.previous[stage.input]
    now = table[table[stage.key].isin(before[stage.key])].set_index(stage.key)
    before = before.set_index(stage.key).reindex(now.index)
    same = pd.Series(True, index=now.index)
    for column in (c for c in stage.columns if c != stage.key):  # column-wise, in Arrow
        a, b = now[column], before[column]
        same &= (a == b).fillna(False).astype(bool) | (a.isna() & b.isna())
    return set(now.index[same.to_numpy()])


def _batched(run: Run, stage: Stage, rows: list[dict], n_carried: int) -> dict:
    """`stage.function` over `rows` in batches (cached tasks, the longest first); one frame per
    table of all the batches' rows, in the order of the input."""
    parts = stage.batches.multiple or run.workers.size
    batches = split(rows, run.batch_size, parts) if rows else []
    get_run_logger().info("%s: %d rows in %d batches (%d carried over)", stage.name, len(rows),
                          len(batches), n_carried)
    task_fn = _cached(run_batch, run.cache_storage).with_options(name=stage.name)
    column = stage.batches.longest_first
    sizes = [sum(len(r[column] or "") for r in b) if column else len(b) for b in batches]
    order = sorted(range(len(batches)), key=lambda i: -sizes[i])  # results keep batch order
    code = f"{stage.name}:{run.code[stage.name]}"  # two stages never share a cache entry
    futures = {i: task_fn.submit(stage, batches[i], code, run.workers) for i in order}
    results = list(track(stage.name, [futures[i] for i in range(len(batches))]))
    made = {t: [r for result in results for r in result.get(t, ())]
            for t in (*stage.writes, "quarantine")}
    return stage.frames(stage.join(made) if stage.join else made)


def _whole(run: Run, stage: Stage) -> tuple[dict, bool]:
    """One task over the release so far, resuming from the state the previous release saved
    for the stage (when it was made by the same code); the new state is saved with this one."""
    prior = _saved_state(run, stage) if stage.state else None
    made, state = run_whole.with_options(name=stage.name)(stage, dict(run.tables), prior)
    if stage.state:
        run.states[stage.name] = (stage.state_key, state)
    made.setdefault("quarantine", pd.DataFrame(columns=QUARANTINE_COLUMNS))
    return made, prior is not None


def _release_rows(run: Run, stage: Stage, table: str, this_run: pd.DataFrame, carried: set,
                  resumed: bool) -> pd.DataFrame:
    previous = run.previous.get(table)
    if stage.carry == "replace":
        return accumulate.merge_table(previous, this_run, run.replaced)
    if stage.carry == "unchanged":
        kept = None if previous is None else previous[previous[stage.key].isin(carried)]
        return accumulate.combine(kept, this_run)
    if stage.carry == "upsert":  # over the previous rows only when it resumed from their state
        rows = accumulate.upsert(previous if resumed else None, this_run, stage.key)
        return rows[rows[stage.key].isin(run.tables[stage.input][stage.key])]
    return this_run


def _change(run: Run, stage: Stage, table: str, release: pd.DataFrame, carried: set,
            resumed: bool) -> Change | None:
    """What this run changed in `table` (publishing appends and merges only that), or None
    when the table is written whole: no previous version (or one without `row_seq`), a
    whole-release stage, other columns, or a gate that also dropped carried rows (the count of
    rows says so)."""
    previous = run.previous.get(table)
    if (previous is None or SEQUENCE not in previous  # published before row_seq: once whole
            or set(previous.columns) - {SEQUENCE} != set(release.columns) - {SEQUENCE}):
        return None
    unique = TABLE_KEYS.get(table)
    # masks and key columns only: no copy of the release's rows but the changed ones
    if stage.carry == "replace" and "doc_id" in release:
        key = unique or "doc_id"
        mine = release["doc_id"].isin(run.replaced)
        kept = ~previous["doc_id"].isin(run.replaced)
    elif stage.carry == "unchanged" and stage.key in release:
        key = stage.key
        mine = ~release[key].isin(carried)
        kept = previous[key].isin(carried)
    elif stage.carry == "upsert" and resumed and unique == stage.key:
        key = stage.key
        mine = ~release[key].isin(previous[key]) | release[key].isin(run.outputs[stage.name].made[table][key])
        kept = previous[key].isin(release.loc[~mine, key])
    else:
        return None
    rows = release[mine]
    if int(kept.sum()) + len(rows) != len(release):
        return None
    gone = set(previous.loc[~kept.to_numpy(), key]) - set(rows[key])
    return Change(rows, key, drop=tuple(sorted(gone)), unique=key == unique)


def _note_rewrite(run: Run, table: str, old: pd.DataFrame, new: pd.DataFrame) -> None:
    """A stage wrote a new version of a table it reads (dedup: inherited dates and outlets):
    its changed rows join the table's change (keyed by the table's unique key)."""
    change, key = run.changes.get(table), TABLE_KEYS.get(table)
    if change is None or change.key != key or list(old.columns) != list(new.columns):
        run.changes[table] = None
        return
    a, b = old.reset_index(drop=True), new.reset_index(drop=True)
    differs = pd.Series(False, index=b.index)
    for column in b.columns:
        if a[column].equals(b[column]):
            continue
        same = [_same(u, v) for u, v in zip(a[column].tolist(), b[column].tolist())]
        differs |= ~pd.Series(same, index=b.index, dtype=bool)
    rows = pd.concat([b[b[key].isin(change.rows[key])], b[differs & ~b[key].isin(change.rows[key])]])
    run.changes[table] = Change(rows, key, drop=change.drop, unique=change.unique)


def _same(u, v) -> bool:
    """Equal cell values: lists read back from Parquet as arrays, every missing value alike."""
    u, v = (x.tolist() if hasattr(x, "tolist") else x for x in (u, v))
    if isinstance(u, list) or isinstance(v, list):
        return u == v
    missing_u, missing_v = pd.isna(u), pd.isna(v)
    return missing_u and missing_v if missing_u or missing_v else bool(u == v)


def _saved_state(run: Run, stage: Stage):
    if not run.built_like_previous(stage.name):
        return None  # other code made it: start over
    path = run.previous_manifest.get(stage.state_key)
    if not path or not (run.lake.root / path).exists():
        return None
    try:
        state = stage.state.load(run.lake.root / path)
        if hasattr(state, "fetch"):  # the dedup index keeps no bodies: read them from the release
            state.fetch = run.lake.bodies_fetch(run.previous_manifest)
        return state
    except ValueError as exc:  # other parameters: recompute everything
        get_run_logger().warning("%s state not reused: %s", stage.name, exc)
        return None


def stop_if_nothing_new(run: Run, stage: Stage, todo: pd.DataFrame) -> None:
    """Stop the run when the latest release already holds every row the stage would process
    (with every column it reads) and every quarantine verdict of the run so far, and was made
    by the same code and gated by the same suites: re-running would reproduce it row for row."""
    if not run.built_like_previous(*run.code, suites=True):
        return

    def keys(df: pd.DataFrame | None, columns: list[str]) -> set:
        if df is None:
            return set()
        return set(pd.util.hash_pandas_object(
            df.reindex(columns=columns).astype(object).fillna("").astype(str), index=False))

    if not keys(todo, stage.columns) <= keys(run.previous[stage.input], stage.columns):
        return
    verdicts, verdict = pd.concat(run.quarantine) if run.quarantine else None, ["source", "reason"]
    if verdicts is not None and not keys(verdicts, verdict) <= keys(run.previous.get("quarantine"), verdict):
        return
    raise NothingNew(
        f"nothing new: all {len(todo)} {stage.input} and {0 if verdicts is None else len(verdicts)} "
        f"quarantine verdicts are already in release {run.previous_manifest['release_id']}, "
        f"made by the same code and gates")


def split(rows: list, size: int, multiple: int = 1) -> list[list]:
    """At most `size` rows per batch, the batches evenly sized and, when more than one is
    needed, as many as a multiple of `multiple` (so parallel workers finish together: 9
    batches on 2 workers leave one of them alone for the last round, 10 smaller ones do not)."""
    n = -(-len(rows) // size) or 1
    if n > 1:
        n = min(len(rows), -(-n // multiple) * multiple)
    return [rows[a:b] for a, b in even_bounds(len(rows), n)]


# ------------------------------------------------------------------ fingerprints and caches

def fingerprint(run: Run, stages: list[Stage]) -> None:
    """This run's code per stage (and of the gates) and its suites, hashed once."""
    run.code = {s.name: code_fingerprint(*s.code) for s in stages}
    run.code["gates"] = code_fingerprint(*GATES_CODE)
    h = hashlib.sha256()
    for f in sorted(Path(run.expectations_dir or EXPECTATIONS_DIR).glob("*.json")):
        h.update(f.name.encode() + f.read_bytes())
    run.suites = h.hexdigest()[:16]


def code_fingerprint(*modules: str) -> str:
    """Hash of the source and data files of `modules` (what a stage's output depends on)."""
    h = hashlib.sha256()
    for module in modules:
        for f in module_files(module):
            h.update(f"{module}/{f.name}".encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def _cached(task_fn, storage: LocalFileSystem | None):
    if storage is None:
        return task_fn.with_options(cache_policy=NO_CACHE, persist_result=False)
    return task_fn.with_options(persist_result=True, result_storage=storage)


def cache_storage(out: Path) -> LocalFileSystem:
    """A saved storage block per output directory (Prefect resolves result storage by block)."""
    base = (out / "cache").resolve()
    block = LocalFileSystem(basepath=str(base))
    block.save(f"newsgate-cache-{hashlib.sha256(str(base).encode()).hexdigest()[:12]}",
               overwrite=True)
    return block
