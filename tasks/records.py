"""Plain rows: what the stages' functions take and return, and what crosses into the workers.

Clean and extract run in worker processes that import no pandas (pandas with pyarrow is ~100 MB
of every process that imports it). A stage's input goes to them as lists of row dicts, missing
values as None, and comes back the same way; the flow's process makes one DataFrame per table
from all of a stage's batches.
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


def to_frame(rows: list[dict], columns: Sequence[str], dtypes: Mapping[str, str]) -> pd.DataFrame:
    """A frame of `columns` (keys a row lacks are None). Object columns keep None as None (an
    inferred str column would turn it into NaN); the columns `dtypes` names get that dtype."""
    import pandas as pd
    frame = pd.DataFrame(rows, columns=list(columns), dtype=object)
    typed = {c: t for c, t in dtypes.items() if c in frame.columns}
    return frame.astype(typed) if typed else frame
