"""The stage runner: what every declared stage (tasks/stage.py) gets done alike.

    apply(run, stage)

1. Input: the rows a per-batch stage must process: this run's documents ("replace"), or its
   `select`ion of the rows this run changed ("unchanged": those whose read columns differ
   from the previous release's, read by key); the units whose earlier rows carry over instead.
2. Work: a per-batch stage's rows are split into even batches of at most --batch-size rows,
   each a Prefect task cached on its rows and the stage's code, run on the run's workers, the
   longest first; all batches' rows become one frame per table. A whole-release stage is one
   task over a view of the release being built (tasks/reader.py: the columns it declares, this
   run's rows, rows by key) and the state the previous release saved for it.
3. This run's rows of each table written, through the table's gate, become the table's change
   (`run.tables`, `run.changes`: appended and merged over the previous rows at publish), or
   the whole table when they cannot be one; quarantine rows and counts are collected.

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
from newsgate.tasks.reader import ReleaseView, key_values
from newsgate.tasks.records import concat_columns, to_records
from newsgate.tasks.stage import Stage, in_columns
from newsgate.tasks.workers import even_bounds

# A batch's cache key: its rows, the task's source and the stage's code fingerprint (`code`):
# a re-run over unchanged input recomputes nothing, and changing a cleaning rule invalidates
# exactly the clean stage. The stage and the workers are how, not what: not part of the key.
CACHED = (INPUTS - "stage" - "workers") + TASK_SOURCE


@task(cache_policy=CACHED)
def run_batch(stage: Stage, rows: list[dict], code: str, workers) -> dict[str, dict[str, list]]:
    """One batch of a stage (in one of the run's worker processes when it has a pool), its
    rows as {table: {column: values}}."""
    if stage.batches.in_workers:
        return workers.call(in_columns, stage.function, stage.outputs, rows)
    return in_columns(stage.function, stage.outputs, rows)


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
    """Run `stage` and put its gated rows into the release being built. `close_workers`: no
    later stage needs the worker processes, so they go before the gates run (less memory)."""
    with run.timed(stage.name):
        rows, examined, carried = _input(run, stage)
        if stage.batches is None:
            made, resumed = _whole(run, stage)
        else:
            made, resumed = _batched(run, stage, rows, len(carried)), False
        if close_workers:
            run.workers.close()
        output = run.outputs[stage.name] = StageOutput(made, made.pop("quarantine"))
        if len(output.rejected):
            run.quarantine.append(output.rejected)
        _gate_tables(run, stage, output, examined, carried, resumed)
        for table in [t for t in made if t not in stage.writes]:  # rows of a table it reads
            _rewrite(run, table, made[table])
        view = run.view()
        run.funnel += [*(stage.counts(output, view) if stage.counts else []),
                       *((t, len(output.kept[t]) if stage.input == "files" else view.count(t))
                         for t in stage.writes)]
        if output.quarantined or stage.batches:  # (a whole-release stage rarely quarantines)
            run.funnel.append((f"quarantined at {stage.name}", output.quarantined))
        output.settle()
        return output


def _gate_tables(run: Run, stage: Stage, output: StageOutput, examined: set, carried: set,
                 resumed: bool) -> None:
    """This run's rows of each table the stage writes through the table's gate (the rows the
    previous release holds were gated when it was published), then into the release being
    built: as a change (appended and merged over the previous rows) or, when it cannot be
    one, as the whole table."""
    output.quarantined = len(output.rejected)
    for table in stage.writes:
        made = output.made[table]
        if table in run.previous and not run.same_gates() and stage.input != "files":
            # other gates: the release's rows are gated again (the table written whole); a
            # release's documents were gated when they were read
            whole = _whole_table(run, stage, table, made, examined, carried, resumed)
            kept, n = gated(run, table, whole, stage.name, _context(run, table, whole, None, carried))
            output.quarantined += n
            run.tables[table], run.changes[table], output.kept[table] = kept, None, kept
            continue
        draft = _change(run, stage, table, made, made, examined, carried, resumed)
        kept, n = gated(run, table, made, stage.name, _context(run, table, made, draft, carried))
        output.quarantined += n
        if table == "documents":  # they replace their own rows of every "replace" table
            run.replaced = set(kept["doc_id"])
        change = _change(run, stage, table, output.made[table], kept, examined, carried, resumed)
        run.changes[table] = change
        run.tables[table] = (change.rows if change is not None
                             else _whole_table(run, stage, table, kept, examined, carried, resumed))
        output.kept[table] = kept


def _context(run: Run, table: str, made: pd.DataFrame, draft: Change | None,
             carried: set) -> GateContext:
    """What the gates' derived checks may read: the release being built (with this run's
    rows of `table` as `draft` would put them in) and the previous release, both lazily (the
    columns and articles a check asks for)."""
    building = ReleaseView(run.previous, {**run.tables, table: made},
                           {**run.changes, table: draft})
    return GateContext(building, ReleaseView(run.previous, {}, {}), run.same_gates(),
                       frozenset(carried), run.workers)


def _input(run: Run, stage: Stage) -> tuple[list[dict], set, set]:
    """The rows a per-batch stage must process, the units this run's changes touch
    (`examined`), and those among them whose earlier rows carry over."""
    if stage.input == "files":
        return run.file_rows(), set(), set()
    if stage.batches is None:  # a whole-release stage reads the release itself (`_whole`)
        return [], set(), set()
    view = run.view(stage.reads)
    if stage.select and not (run.built_like_previous(stage.name)
                             and all(t in run.previous for t in stage.reads)):
        # other code made the previous rows: the stage selects from the whole release again
        view = ReleaseView.of({t: view.release(t, stage.reads[t]) for t in stage.reads})
    table = stage.select(view) if stage.select else view.changed(stage.input)
    if stage.carry == "replace":
        table = table[accumulate.doc_ids_of(table).isin(run.replaced)]
        if stage.input in run.previous:
            stop_if_nothing_new(run, stage, table)
    examined = set(table[stage.key])
    for t in stage.reads:  # rows whose inputs changed or went (their old rows go)
        examined |= key_values(view.changed(t), stage.key)
        change = run.changes.get(t)
        if change is not None and change.key == stage.key:
            examined |= set(change.drop)
    carried = _unchanged(run, stage, table) if stage.carry == "unchanged" else set()
    if carried:
        table = table[~table[stage.key].isin(carried)]
    return (to_records(table, stage.columns) if stage.batches else []), examined, carried


def _unchanged(run: Run, stage: Stage, table: pd.DataFrame) -> set:
    """Units whose rows the previous release holds, made from the very same input (the columns
    the stage reads) by the same stage code: their rows are read by key, in those columns."""
    if not run.built_like_previous(stage.name) or any(t not in run.previous for t in stage.reads):
        return set()  # other code: every unit is processed again
    ids = set(table[stage.key])
    if not ids:
        return set()
    earlier = {t: run.previous.read(t, columns, where=(stage.key, ids))
               for t, columns in stage.reads.items()}
    before = stage.select(ReleaseView.of(earlier)) if stage.select else earlier[stage.input]
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
    made = {t: concat_columns([result[t] for result in results], columns)
            for t, columns in stage.outputs.items()}
    return stage.frames(stage.join(made) if stage.join else made)


def _whole(run: Run, stage: Stage) -> tuple[dict, bool]:
    """One task over the release being built (a view: the stage reads its declared columns,
    or only this run's rows when it resumes), resuming from the state the previous release
    saved for the stage (when it was made by the same code); the new state is saved with this
    one."""
    prior = _saved_state(run, stage) if stage.state else None
    made, state = run_whole.with_options(name=stage.name)(stage, run.view(stage.reads), prior)
    if stage.state:
        run.states[stage.name] = (stage.state_key, state)
    made.setdefault("quarantine", pd.DataFrame(columns=QUARANTINE_COLUMNS))
    return made, prior is not None


def _change(run: Run, stage: Stage, table: str, made: pd.DataFrame, kept: pd.DataFrame,
            examined: set, carried: set, resumed: bool) -> Change | None:
    """This run's change to `table`: its gated rows and the keys whose previous rows go
    (publishing appends and merges only that). None when the table is written whole: no
    previous version (or one without `row_seq`), other columns, a whole-release stage, or
    other code (every unit was processed again)."""
    if table not in run.previous:
        return None
    published = set(run.previous.columns(table))
    if SEQUENCE not in published or published - {SEQUENCE} != set(kept.columns) - {SEQUENCE}:
        return None  # published before row_seq, or with other columns: once whole
    unique = TABLE_KEYS.get(table)
    if stage.carry == "replace" and "doc_id" in kept:
        key = unique or "doc_id"  # a replaced document's rows go, unless replaced
        drop = (run.replaced if key == "doc_id" else
                set(run.previous.read(table, [key], where=("doc_id", run.replaced))[key]))
    elif stage.carry == "unchanged" and stage.key in kept and run.built_like_previous(stage.name):
        key, drop = stage.key, examined - carried
    elif stage.carry == "upsert" and resumed and unique == stage.key:
        key = stage.key  # quarantined rows and rows whose input went go
        gone = run.changes.get(stage.input)
        left = set(gone.drop) if gone is not None and gone.key == key else set()
        kept = kept[~kept[key].isin(left)]
        drop = set(made[key]) | left
    else:
        return None
    drop = set(drop) - set(kept[key])
    return Change(kept, key, drop=tuple(sorted(drop)), unique=key == unique)


def _whole_table(run: Run, stage: Stage, table: str, kept: pd.DataFrame, examined: set,
                 carried: set, resumed: bool) -> pd.DataFrame:
    """The whole table when this run's rows cannot be a change: over the previous release's
    rows that carry over (read in full: a first run of new code, gates or columns)."""
    if table not in run.previous or stage.carry == "none":
        return kept
    if stage.carry == "replace":
        return accumulate.merge_table(run.previous.read(table), kept, run.replaced)
    if stage.carry == "unchanged":  # the units this run did not process again carry over
        return accumulate.combine(run.previous.read(table, without=(stage.key, examined - carried)),
                                  kept)
    rows = accumulate.upsert(run.previous.read(table) if resumed else None, kept, stage.key)
    present = run.view().release(stage.input, [stage.key])[stage.key]
    return rows[rows[stage.key].isin(present)].reset_index(drop=True)


def _rewrite(run: Run, table: str, rows: pd.DataFrame) -> None:
    """A stage rewrote rows of a table it reads (dedup: inherited dates and outlets): they
    replace the rows with the same key in this run's rows (kept in place) or join them."""
    key = TABLE_KEYS[table]
    change = run.changes.get(table)
    if change is not None and change.key != key:  # cannot be merged by its key: once whole
        run.tables[table], run.changes[table] = run.view().release(table), None
    merged = accumulate.patch(run.tables[table], rows, key)
    run.tables[table] = merged
    if run.changes.get(table) is not None:
        run.changes[table] = Change(merged, key, drop=tuple(k for k in change.drop
                                                           if k not in set(rows[key])),
                                    unique=change.unique)


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
    by the same code and gated by the same suites: re-running would reproduce it row for row.
    The release is asked for those rows only (a read filtered by their keys)."""
    if not run.built_like_previous(*run.code, suites=True):
        return

    def keys(df: pd.DataFrame | None, columns: list[str]) -> set:
        if df is None:
            return set()
        return set(pd.util.hash_pandas_object(
            df.reindex(columns=columns).astype(object).fillna("").astype(str), index=False))

    held = run.previous.read(stage.input, stage.columns, where=(stage.key, todo[stage.key]))
    if not keys(todo, stage.columns) <= keys(held, stage.columns):
        return
    verdicts, verdict = pd.concat(run.quarantine) if run.quarantine else None, ["source", "reason"]
    if verdicts is not None and not keys(verdicts, verdict) <= keys(
            run.previous.read("quarantine", verdict) if "quarantine" in run.previous else None,
            verdict):
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
    # Prefect's result store otherwise keeps every persisted result in an in-memory cache for
    # the whole flow run: each batch's rows (Python objects) of every stage, until publishing
    # (200k tiny documents peaked at 3.83 GB, 3.63 without). A hit reads it back from storage.
    return task_fn.with_options(persist_result=True, result_storage=storage,
                                cache_result_in_memory=False)


def cache_storage(out: Path) -> LocalFileSystem:
    """A saved storage block per output directory (Prefect resolves result storage by block)."""
    base = (out / "cache").resolve()
    block = LocalFileSystem(basepath=str(base))
    block.save(f"newsgate-cache-{hashlib.sha256(str(base).encode()).hexdigest()[:12]}",
               overwrite=True)
    return block
