"""The Dask runner (prefect-dask, a LocalCluster of worker processes) publishes exactly what
the local runner publishes."""
from __future__ import annotations

import pandas as pd
import pytest

from conftest import SEEDS
from newsgate.tasks.publish import Lake

pytestmark = pytest.mark.slow


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    for col in df.columns:  # lists read back as arrays: compare as text
        if df[col].map(lambda v: hasattr(v, "__len__") and not isinstance(v, str)).any():
            df[col] = df[col].map(lambda v: "|".join(map(str, v)) if v is not None else None)
    return df.sort_values(list(df.columns)).reset_index(drop=True)


def test_dask_and_local_runners_publish_identical_tables(harness, tmp_path):
    from newsgate.flows.cli import main
    assert main(["run", str(SEEDS), "--out", str(tmp_path / "local"), "--no-review",
                 "--batch-size", "2"]) == 0
    assert main(["run", str(SEEDS), "--out", str(tmp_path / "dask"), "--no-review",
                 "--batch-size", "2", "--runner", "dask", "--workers", "2"]) == 0
    local, dask = Lake(tmp_path / "local"), Lake(tmp_path / "dask")
    tables = local.manifest()["tables"]
    assert sorted(tables) == sorted(dask.manifest()["tables"])
    for table in tables:
        a, b = local.read_table(table), dask.read_table(table)
        assert len(a) == len(b), table
        pd.testing.assert_frame_equal(_sorted(a), _sorted(b), check_dtype=False, obj=table)
