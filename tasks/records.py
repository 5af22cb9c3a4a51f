"""Plain rows: what the stages' functions take and return, and what crosses into the workers.

Clean and extract run in worker processes that import no pandas (pandas with pyarrow is ~100 MB
of every process that imports it). A stage's input goes to them as lists of row dicts, missing
values as None; a batch's rows come back as one list per column (`to_columns`: under a third of
the memory of row dicts once unpickled in the flow's process, which holds every batch's until
the stage ends);
the flow's process makes one DataFrame per table from all of a stage's batches.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Mapping, Sequence

if TYPE_CHECKING:
    import pandas as pd


def to_records(df: pd.DataFrame, columns: Sequence[str] | None = None) -> list[dict]:
    """Rows of `df` as dicts (only the `columns` it has, when given); NA/NaN/None -> None."""
    if columns is not None:
        df = df[[c for c in columns if c in df.columns]]
    plain = df.astype(object)
    return plain.where(df.notna(), None).to_dict("records")


def to_columns(rows: list[dict], columns: Sequence[str]) -> dict[str, list]:
    """`rows` as one list per column (a key a row lacks is None). Equal strings of a column
    become one object (a unit, a kind, a keyword repeat across rows), pickled and unpickled
    once: 8,000 tiny documents' extract batches take 16 MB in the flow's process, against 28 MB
    for plain columns and 54 MB for row dicts."""
    return {c: _shared_strings(r.get(c) for r in rows) for c in columns}


def _shared_strings(values) -> list:
    seen: dict[str, str] = {}
    return [seen.setdefault(v, v) if type(v) is str else v for v in values]


def concat_columns(parts: Sequence[Mapping[str, list]], columns: Sequence[str]) -> dict[str, list]:
    """Several batches' `to_columns` as one, in order."""
    return {c: [v for part in parts for v in part[c]] for c in columns}


def to_frame(rows: list[dict] | Mapping[str, list], columns: Sequence[str],
             dtypes: Mapping[str, str]) -> pd.DataFrame:
    """A frame of `columns` from row dicts or from `to_columns` (keys a row lacks are None).
    Object columns keep None as None (an inferred str column would turn it into NaN); the
    columns `dtypes` names get that dtype."""
    import pandas as pd
    frame = pd.DataFrame(rows, columns=list(columns), dtype=object)
    typed = {c: t for c, t in dtypes.items() if c in frame.columns}
    return frame.astype(typed) if typed else frame
