"""Plain rows: what crosses into the worker processes.

Clean and extract run in worker processes that import no pandas (pandas with pyarrow is ~100 MB
of every process that imports it). Batches go to them as lists of row dicts, missing values as
None, and come back the same way; the flow's process builds the DataFrames.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd


def to_records(df: pd.DataFrame, columns: list[str] | None = None) -> list[dict]:
    """Rows of `df` as dicts (only the `columns` it has, when given); NA/NaN/None -> None."""
    if columns is not None:
        df = df[[c for c in columns if c in df.columns]]
    plain = df.astype(object)
    return plain.where(df.notna(), None).to_dict("records")
