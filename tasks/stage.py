"""What a stage declares, next to its code: one value per stage, read by the flow's runner.

    STAGE = Stage(name="clean", function=clean_records,
                  reads={"documents": INPUT_COLUMNS}, key="doc_id",
                  writes={"articles": ARTICLE_COLUMNS, "removals": REMOVAL_COLUMNS},
                  code=("newsgate.tasks.clean",), carry="replace",
                  batches=Batches(multiple=2, longest_first="text"), ...)

The runner (flows/stage_runner.py) does the rest alike for every stage: it picks the input
rows, splits them into batches, caches each batch, runs it on the run's workers, builds the
frames, carries rows over from the previous release, gates every table written and counts
what was kept and quarantined. Adding a stage is a declaration like this one plus its place
in the flow's list (flows/pipeline.py); a new table of a stage is a name in `writes`, a pandera
model (schemas/tables.py) and a suite (expectations/<table>.json).

Plain Python (no pandas): the stage packages declare themselves at import, and the worker
processes import them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Mapping, Sequence

# How the release's rows of a stage's tables are made from the previous release and this run:
#   "none"      the stage's output is the table (a whole-release computation: aggregates)
#   "replace"   this run's documents replace their own earlier rows, other rows carry over
#   "unchanged" input rows whose read columns equal the previous release's (same stage code)
#               are not processed again: their rows carry over
#   "upsert"    the stage returns new and changed rows only (it resumes from its saved
#               state); they replace the rows with the same key, rows whose key left the
#               input are dropped
Carry = Literal["none", "replace", "unchanged", "upsert"]


@dataclass(frozen=True)
class Batches:
    """How a per-batch stage splits its input: at most `--batch-size` rows per batch, evenly."""
    multiple: int | None = None  # the number of batches is a multiple of this (None: of the workers)
    longest_first: str | None = None  # the text column whose length orders the batches
    in_workers: bool = True  # run on the run's worker processes (else on the flow's threads)


@dataclass(frozen=True)
class Stage:
    """One stage of the pipeline, declared next to its code (see this module's docstring)."""
    name: str
    # batches: list of row dicts -> {table: list of row dicts} ("quarantine" for rejected input);
    # whole-release stages: (tables, saved state or None) -> ({table: DataFrame}, new state),
    # `tables` a tasks.reader.ReleaseView: `tables[t]` the release in the columns `reads`
    # declares, `tables.changed(t)` this run's rows, `tables.lookup(t, column, keys)` by key
    function: Callable
    reads: Mapping[str, Sequence[str]]  # table -> columns the function reads; the first: its input
    key: str  # the column naming one unit of input (the carry-over is per unit)
    writes: Mapping[str, Sequence[str]]  # table -> its columns
    # packages and modules whose source and data files the output depends on: their hash keys
    # the cache and decides whether rows made by an earlier release's code can carry over
    code: tuple[str, ...]
    carry: Carry = "none"
    batches: Batches | None = None  # None: once over the whole release, in the flow's process
    dtypes: Mapping[str, str] = field(default_factory=dict)  # column -> dtype of the frames built
    # the input rows, when not all of this run's rows of the read table: (ReleaseView) ->
    # DataFrame (a view over only the changed rows, or over the whole release for new code)
    select: Callable[[Mapping[str, Any]], Any] | None = None
    state: type | None = None  # what the stage saves with each release (`save(dir)`, `load(dir)`)
    # how all batches' rows are joined, one list per column ({table: {column: values}});
    # default: one batch's after the other's
    join: Callable[[dict[str, dict[str, list]]], dict[str, dict[str, list]]] | None = None
    warm: tuple[str, ...] = ()  # "module:function"s a worker process calls before its first batch
    # extra funnel lines: (what the stage did in this run, the release: a ReleaseView) -> [(label, n)]
    counts: Callable[[Any, Mapping[str, Any]], list[tuple[str, int]]] | None = None

    @property
    def input(self) -> str:
        return next(iter(self.reads))

    @property
    def state_key(self) -> str:
        """The manifest entry naming where the state is saved: its class's name in snake case
        (DedupIndex: dedup_index)."""
        name = self.state.__name__
        return "".join(f"_{c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(name))

    @property
    def columns(self) -> list[str]:
        """The input columns the function reads: its cache key and its carry-over key."""
        return list(self.reads[self.input])

    def over_frame(self, df) -> dict:
        """The function over the rows of one frame (one batch), as frames: for tests,
        benchmarks and notebooks. (The flow batches, caches and carries over; see the runner.)"""
        from newsgate.tasks.records import to_records
        return self.frames(self.function(to_records(df, self.columns)))

    @property
    def outputs(self) -> dict[str, Sequence[str]]:
        """The tables a batch's function returns, with their columns: those it writes and
        "quarantine" (its rejected input)."""
        from newsgate.schemas.contract import QUARANTINE_COLUMNS
        return {**self.writes, "quarantine": QUARANTINE_COLUMNS}

    def frames(self, rows: Mapping[str, list[dict] | Mapping[str, list]]) -> dict:
        """The function's rows (row dicts, or `records.to_columns` lists) as DataFrames, one
        per table written (and "quarantine")."""
        from newsgate.tasks.records import to_frame
        return {t: to_frame(rows.get(t, []), columns, self.dtypes)
                for t, columns in self.outputs.items()}


def in_columns(function: Callable, outputs: Mapping[str, Sequence[str]], rows: list[dict]) -> dict:
    """A batch's `function(rows)` as {table: {column: values}} (`records.to_columns`): what a
    worker sends back, under a third of the memory of row dicts in the flow's process."""
    from newsgate.tasks.records import to_columns
    made = function(rows)
    return {t: to_columns(made.get(t, []), columns) for t, columns in outputs.items()}


def rows_of(tables: Mapping[str, Any], table: str, columns: Sequence[str] | None,
            column: str | None = None, values=None):
    """`columns` (None: all) of `table` in `tables`, only the rows whose `column` holds one of
    `values` when given: read by column and key from a run's release view
    (tasks/reader.py:ReleaseView), taken from a frame of a plain dict (tests, notebooks). None
    when there is no such table (or no such column)."""
    if table not in tables:
        return None
    if hasattr(tables, "lookup"):  # a ReleaseView
        if column is not None and column not in tables.columns(table):
            return None
        return (tables.release(table, columns) if column is None
                else tables.lookup(table, column, values, columns))
    df = tables[table]
    if df is None or (column is not None and column not in df):
        return None
    if column is not None:
        df = df[df[column].isin(set(values))]
    return df if columns is None else df[[c for c in columns if c in df]]


def arrow_parts(tables: Mapping[str, Any], table: str, columns: Sequence[str],
                ordered: bool = False) -> list:
    """`columns` of the whole `table` in `tables` as Arrow tables, to be counted or summed
    column-wise: of a run's release view, the previous release's rows straight from the Delta
    scan (never a pandas frame of them; in the order rows were published only when `ordered`),
    then this run's; of plain frames, one part. No parts when there is no such table (or
    column)."""
    import pyarrow as pa
    if table not in tables:
        return []
    if hasattr(tables, "arrow_parts"):  # a ReleaseView
        return (tables.arrow_parts(table, columns, ordered)
                if set(columns) <= set(tables.columns(table)) else [])
    df = tables[table]
    if df is None or not set(columns) <= set(df.columns):
        return []
    return [pa.Table.from_pandas(df[list(columns)], preserve_index=False)]


def among(values, ids):
    """`values.isin(ids)` as a boolean numpy array, by Arrow (pandas' isin of an Arrow string
    column walks `ids` in Python: seconds over a 200k-article release); missing values are out."""
    import pyarrow as pa
    import pyarrow.compute as pc
    found = pc.is_in(pa.array(values.to_numpy(dtype=object), pa.string()),
                     value_set=pa.array(list(ids), pa.string()))
    return found.to_numpy(zero_copy_only=False).astype(bool)


def plain_strings(schema):
    """`schema` with its text columns as plain strings: a Delta version may hold them as
    string_view or large_string, and a frame's all-missing column arrives as Arrow's null type."""
    import pyarrow as pa
    text = (pa.string_view(), pa.large_string(), pa.null())
    return pa.schema([f.with_type(pa.string()) if f.type in text else f for f in schema])


def arrow_table(tables: Mapping[str, Any], table: str, columns: Sequence[str],
                ordered: bool = False):
    """`arrow_parts` as one Arrow table (text columns as plain strings, `plain_strings`); None
    when there is no such table (or column)."""
    import pyarrow as pa
    parts = arrow_parts(tables, table, columns, ordered)
    if not parts:
        return None
    schema = plain_strings(parts[0].schema)
    return pa.concat_tables([part.select(list(columns)).cast(schema) for part in parts])
