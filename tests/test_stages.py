"""The declared stages: what each declares is true of its code, and a new stage is one value.

- Each stage's `code` (what its cache and carry-over are keyed by) covers every newsgate module
  its function imports, directly or not: editing any of them invalidates the stage.
- A new stage, with a new table, runs, is gated and is published from its declaration and its
  place in the flow's list alone (plus the table's pandera model and suite), no flow code.
"""
from __future__ import annotations

import ast
import importlib.util
import json
import shutil

import pandas as pd
import pandera.pandas as pa
import pytest
from pandera.typing import Series

from conftest import SEEDS
from newsgate.flows.pipeline import PIPELINE
from newsgate.tasks.gates import EXPECTATIONS_DIR, GATES_CODE
from newsgate.tasks.publish import Lake
from newsgate.tasks.stage import Stage

# the runner's own machinery, which every stage imports to declare itself
MACHINERY = {"newsgate", "newsgate.tasks", "newsgate.schemas", "newsgate.flows",
             "newsgate.tasks.stage", "newsgate.tasks.records"}


def _imports(module: str) -> set[str]:
    """The newsgate modules `module` imports (anywhere in it, relative imports resolved)."""
    spec = importlib.util.find_spec(module)
    tree = ast.parse(open(spec.origin, encoding="utf-8").read())
    package = module if spec.submodule_search_locations else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            found.add(base)
            for alias in node.names:  # `from package import module`
                if importlib.util.find_spec(f"{base}.{alias.name}") if _is_package(base) else False:
                    found.add(f"{base}.{alias.name}")
    return {m for m in found if m == "newsgate" or m.startswith("newsgate.")}


def _is_package(module: str) -> bool:
    spec = importlib.util.find_spec(module) if module.startswith("newsgate") else None
    return bool(spec and spec.submodule_search_locations)


def _closure(module: str) -> set[str]:
    seen, todo = set(), [module]
    while todo:
        m = todo.pop()
        if m not in seen:
            seen.add(m)
            if m not in MACHINERY:
                todo.extend(_imports(m))
    return seen


def _covered(module: str, code: tuple[str, ...]) -> bool:
    return module in MACHINERY or any(module == c or module.startswith(c + ".") for c in code)


@pytest.mark.parametrize("stage", PIPELINE, ids=lambda s: s.name)
def test_a_stage_declares_every_module_its_output_depends_on(stage):
    needed = _closure(stage.function.__module__)
    missing = sorted(m for m in needed if not _covered(m, stage.code))
    assert not missing, f"{stage.name}: add to its `code` (tasks/*): {missing}"


def test_the_gates_declare_every_module_their_checks_depend_on():
    missing = sorted(m for m in _closure("newsgate.tasks.gates") if not _covered(m, GATES_CODE))
    assert not missing, f"add to GATES_CODE (tasks/gates.py): {missing}"


# ------------------------------------------------------------------ a new stage

class ArticleLengths(pa.DataFrameModel):  # its pandera model (schemas/tables.py would hold it)
    article_id: Series[str] = pa.Field(unique=True)
    n_chars: Series[int] = pa.Field(ge=1)

    class Config:
        coerce = True


def article_lengths(tables: dict[str, pd.DataFrame], prior=None):
    """A whole-release stage: the length of every article's body."""
    articles = tables["articles"]
    return {"lengths": pd.DataFrame({"article_id": articles["article_id"],
                                     "n_chars": articles["body"].str.len()})}, None


LENGTHS = Stage(name="lengths", function=article_lengths, key="article_id",
                reads={"articles": ("article_id", "body")},
                writes={"lengths": ("article_id", "n_chars")}, code=(__name__,))


def test_a_new_stage_is_its_declaration_and_its_place_in_the_list(harness, tmp_path, monkeypatch):
    import newsgate.flows.pipeline as pipeline
    from newsgate.schemas import tables
    monkeypatch.setitem(tables.SCHEMAS, "lengths", ArticleLengths)
    monkeypatch.setattr(pipeline, "PIPELINE", [*PIPELINE[:3], LENGTHS, *PIPELINE[3:]])
    suites = tmp_path / "suites"  # its suite (expectations/lengths.json would hold it)
    shutil.copytree(EXPECTATIONS_DIR, suites)
    (suites / "lengths.json").write_text(json.dumps({"name": "lengths", "expectations": [{
        "type": "expect_column_values_to_be_between", "severity": "warning",
        "kwargs": {"column": "n_chars", "min_value": 40, "mostly": 0.9},
        "meta": {"description": "articles are rarely shorter than 40 characters"}}]}))
    result = pipeline.newsgate(sources=[str(SEEDS / "003_1ff4c3e9b6ed5b66.txt")],
                               out=str(tmp_path / "out"), expectations_dir=str(suites),
                               review_mode="skip")
    assert result["status"] == "published", result["error"]
    lake = Lake(tmp_path / "out")
    lengths, articles = lake.read_table("lengths"), lake.read_table("articles")
    assert lengths["n_chars"].tolist() == articles["body"].str.len().tolist()
    assert lake.manifest()["gates"]["lengths"] == {"pass": 2, "warn": 0, "fail": 0}
    assert result["funnel"]["lengths"] == len(articles)


def test_a_batch_sent_back_as_columns_makes_the_frames_its_rows_make(seed_texts):
    """The runner's batches come back from the workers as one list per column, equal strings
    shared (under a third of the memory of row dicts in the flow's process): the same frames,
    None kept."""
    from stages import clean_documents
    from test_clean_documents import document_row

    from newsgate.tasks.extract import STAGE as EXTRACT
    from newsgate.tasks.records import to_records
    from newsgate.tasks.stage import in_columns

    docs = pd.DataFrame([document_row(text, f"seeds/{name}") for name, text in seed_texts.items()])
    rows = to_records(clean_documents(docs).articles, EXTRACT.columns)
    as_rows = EXTRACT.frames(EXTRACT.function(rows))
    columns = in_columns(EXTRACT.function, EXTRACT.outputs, rows)
    as_columns = EXTRACT.frames(columns)
    for table, frame in as_rows.items():
        assert as_columns[table].equals(frame), table
        assert list(as_columns[table].dtypes) == list(frame.dtypes), table
    assert len(as_rows["mentions"]) > 100 and as_rows["mentions"]["qualifier"].isna().any()
    assert as_columns["mentions"]["qualifier"].map(lambda v: v is None or isinstance(v, str)).all()
    units = [u for u in columns["mentions"]["unit"] if u == "亿元"]
    assert len(units) > 1 and len({id(u) for u in units}) == 1  # one object, pickled once
