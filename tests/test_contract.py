"""One home per rule, and every check can fail.

- The contract's enums and caps are defined once (schemas/contract.py): no other module and no
  suite restates them, and no suite restates a check the pandera models already make.
- Every check of every gate fails on a frame that breaks it: each pandera column check and row
  rule quarantines the breaking row under its name, each suite expectation reports its failure
  with its severity. Frames are the seeds run through the real stages, then broken one way.
"""
from __future__ import annotations

import ast
import json
from pathlib import Path

import pandas as pd
import pytest

from conftest import ROOT
from newsgate.schemas import contract
from newsgate.schemas.tables import SCHEMAS
from newsgate.tasks import aggregate, clean, dedup, extract, ingest
from newsgate.tasks.gates import EXPECTATIONS_DIR, GateContext, run_gate, run_pandera

ENUMS = {name: value for name, value in vars(contract).items()
         if name.isupper() and isinstance(value, list)}
SUITES = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(EXPECTATIONS_DIR.glob("*.json"))}


# ------------------------------------------------------------------ one home per rule

def _literals(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            try:
                yield ast.literal_eval(node)
            except ValueError:
                continue
        elif isinstance(node, ast.Constant) and isinstance(node.value, float):
            yield node.value


def test_each_enum_and_cap_is_defined_once():
    code = [p for folder in ("tasks", "schemas", "flows", "newsgate") for p in (ROOT / folder).rglob("*.py")]
    home = ROOT / "schemas" / "contract.py"
    for path in code:
        if path == home:
            continue
        for value in _literals(path):
            if isinstance(value, float):
                assert value != contract.MAX_INVESTMENT_YUAN, f"{path}: restates the investment cap"
            else:
                for name, enum in ENUMS.items():
                    assert sorted(map(str, value)) != sorted(enum), f"{path}: restates {name}"


def test_no_suite_restates_an_enum_a_cap_or_a_pandera_check():
    for table, suite in SUITES.items():
        columns = SCHEMAS[table].to_schema().columns if table in SCHEMAS else {}
        for e in suite["expectations"]:
            kw, column = e["kwargs"], e["kwargs"].get("column")
            assert sorted(map(str, kw.get("value_set") or [])) not in [sorted(v) for v in ENUMS.values()], \
                (table, e["type"])
            assert contract.MAX_INVESTMENT_YUAN not in (kw.get("min_value"), kw.get("max_value")), table
            if column in columns:  # a column the pandera model types and checks
                checks = {c.name for c in columns[column].checks}
                if e["type"] == "expect_column_values_to_not_be_null":
                    assert columns[column].nullable, f"{table}.{column}: pandera already refuses nulls"
                if e["type"] == "expect_column_values_to_be_in_set":
                    assert "isin" not in checks, f"{table}.{column}: pandera already checks the set"
                if e["type"] == "expect_column_values_to_be_between" and not kw.get("mostly"):
                    assert not checks & {"greater_than", "greater_than_or_equal_to", "less_than",
                                         "less_than_or_equal_to"}, f"{table}.{column}: pandera range"


# ------------------------------------------------------------------ every check can fail

@pytest.fixture(scope="module")
def release(seed_paths) -> dict[str, pd.DataFrame]:
    """The seeds' release, made by the stages' own functions (no flow, no Prefect)."""
    files = [{"path": str(p)} for p in seed_paths]
    documents = ingest.STAGE.frames(ingest.ingest_records(files))["documents"]
    articles = clean.STAGE.over_frame(documents)["articles"]
    tables = {"documents": documents, "removals": clean.STAGE.over_frame(documents)["removals"]}
    made, _ = dedup.dedup_stage({"articles": articles}, None)
    tables.update(made)
    tables.update({t: f for t, f in extract.STAGE.over_frame(tables["articles"]).items()
                   if t != "quarantine"})
    tables.update(aggregate.aggregate_stage(tables)[0])
    tables["quarantine"] = pd.DataFrame([{"stage": "ingest", "source": "x.bin", "doc_id": None,
                                          "reason": "not text", "detail": "binary"}])
    tables["accounting"] = pd.DataFrame([{
        "inputs": 5, "documents_plus_ingest_quarantine": 5, "documents": 5,
        "documents_with_articles_plus_clean_quarantine": 5, "articles": 8, "clustered_articles": 8}])
    return tables


def _gate(table: str, df: pd.DataFrame, release: dict):
    context = GateContext(tables={**release, table: df})
    return run_gate(table, df.reset_index(drop=True), stage="test", context=context)


def test_the_seeds_release_passes_every_gate(release):
    for table in SUITES:
        kept, result = _gate(table, release[table], release)
        assert result.passed and result.quarantine.empty and not result.warnings, \
            (table, [c for c in result.checks if not c.success])


def _break_derived(check: str, df: pd.DataFrame) -> pd.DataFrame:
    """Frames that break the rules computed into `_check_*` columns (tasks/gates.py)."""
    df = df.copy()
    if check == "boilerplate_hits":  # a boilerplate line left in a body
        df.loc[0, "body"] = df.loc[0, "body"] + "\n责任编辑：刘响"
        df.loc[0, "n_chars"] = len(df.loc[0, "body"])
    elif check == "canonicals_in_cluster":  # two canonicals in one cluster
        df.loc[1, "cluster_id"] = df.loc[0, "cluster_id"]
    elif check == "canonical_is_canonical":
        df.loc[0, "canonical_id"] = "no-such-article"
    elif check == "similarity_meets_threshold":
        df.loc[0, ["kind", "similarity"]] = ["near", 0.1]
    elif check == "place_resolved":
        df.loc[df["kind"] == "place", "normalized"] = None
    elif check == "reconciles":  # a total that is not the sum of its detail rows
        df.loc[df["n_projects"] > 0, "investment_yuan_total"] += 1e9
    else:
        raise AssertionError(f"no way to break _check_{check}: add one here")
    return df


def _break(expectation: dict, df: pd.DataFrame) -> pd.DataFrame:
    """`df` changed so that `expectation` fails (on every row where it has a `mostly`)."""
    kind, kw = expectation["type"], expectation["kwargs"]
    column = kw.get("column")
    if column and column.startswith("_check_"):
        return _break_derived(column[len("_check_"):], df)
    df = df.copy()
    if kind in ("expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique"):
        return pd.concat([df, df.iloc[:1]], ignore_index=True)
    if kind == "expect_table_row_count_to_be_between":
        return df.iloc[0:0] if kw.get("min_value") else pd.concat([df] * (kw["max_value"] + 1))
    if kind == "expect_column_values_to_not_be_null":
        df[column] = None
    elif kind == "expect_column_values_to_not_match_regex":
        df.loc[0, column] = df.loc[0, column] + kw["regex"]
    elif kind == "expect_column_values_to_be_between":
        if kw.get("min_value") is not None:
            df[column] = kw["min_value"] - 1
        else:
            df[column] = kw["max_value"] + 1
        if column == "n_chars":  # keep the row rule n_chars == len(body): shorten the bodies
            df["body"] = df["body"].str[:int(kw["min_value"]) - 1]
    elif kind == "expect_column_pair_values_to_be_equal":
        df[kw["column_A"]] = df[kw["column_B"]] + 1
    else:
        raise AssertionError(f"no way to break {kind}: add one here")
    return df


@pytest.mark.parametrize("table, i", [(t, i) for t, s in SUITES.items() for i in range(len(s["expectations"]))])
def test_every_suite_expectation_can_fail(release, table, i):
    expectation = SUITES[table]["expectations"][i]
    _, result = _gate(table, _break(expectation, release[table]), release)
    kw = expectation["kwargs"]
    target = (kw.get("column") or "/".join(filter(None, [kw.get("column_A"), kw.get("column_B")]))
              or ",".join(kw.get("column_list") or []))
    label = f"{expectation['type']}({target})" if target else expectation["type"]
    failed = [c for c in result.checks if c.engine == "gx" and c.check == label and not c.success]
    assert failed, (table, label, result.checks)
    assert failed[0].status == ("fail" if expectation["severity"] == "critical" else "warn")


def _break_value(check, column: str, df: pd.DataFrame) -> pd.DataFrame:
    stats, df = check.statistics, df.copy()
    values = {"greater_than_or_equal_to": lambda: stats["min_value"] - 1,
              "greater_than": lambda: stats["min_value"],
              "less_than": lambda: stats["max_value"],
              "less_than_or_equal_to": lambda: stats["max_value"] + 1,
              "isin": lambda: "not-in-the-enum",
              "str_matches": lambda: "not a date",
              "str_length": lambda: "x" * (stats["min_value"] - 1)}
    df[column] = df[column].astype(object)
    df.loc[0, column] = values[check.name]()
    return df


def _pandera_checks():
    for table, model in SCHEMAS.items():
        schema = model.to_schema()
        for column, col in schema.columns.items():
            for check in col.checks:
                yield table, column, check.name
            if not col.nullable:
                yield table, column, "not_nullable"
        for check in schema.checks:  # a row rule's quarantine reason is its message
            yield table, None, check.error


ROW_RULE_BREAKERS = {  # the models' row rules (dataframe_check), broken on the first row
    "text is blank": lambda df: df.assign(text=["  \n "] + list(df["text"][1:])),
    "n_chars != len(body)": lambda df: df.assign(n_chars=[df["n_chars"][0] + 1] + list(df["n_chars"][1:])),
    "end <= start": lambda df: df.assign(end=[df["start"][0]] + list(df["end"][1:])),
}


@pytest.mark.parametrize("table, column, name", list(_pandera_checks()))
def test_every_pandera_check_quarantines_the_rows_that_break_it(release, table, column, name):
    df = release[table]
    if column is None:
        broken = ROW_RULE_BREAKERS[name](df)
    elif name == "not_nullable":
        broken = df.copy()
        broken[column] = broken[column].astype(object)
        broken.loc[0, column] = None
    else:
        check = next(c for c in SCHEMAS[table].to_schema().columns[column].checks if c.name == name)
        broken = _break_value(check, column, df)
    kept, checks, quarantine = run_pandera(table, broken.reset_index(drop=True), "test")
    assert all(c.severity == "warning" for c in checks if not c.success)  # quarantines, no block
    assert any(name in reason for reason in quarantine["reason"]), (table, column, name)
    assert len(kept) < len(df)


def test_the_span_rule_quarantines_a_misquoting_row(release):
    """The one home of "body[start:end] is the quoted text": a derived row rule of the gate."""
    for table in ("mentions", "projects", "indicators"):
        broken = release[table].copy()
        broken.loc[0, ["start", "end"]] = broken.loc[0, ["start", "end"]] + 1
        kept, result = _gate(table, broken, release)
        assert list(result.quarantine["reason"]) == [f"{table}: span_matches"]
        assert len(kept) == len(broken) - 1
