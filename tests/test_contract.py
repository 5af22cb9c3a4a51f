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
from newsgate.tasks import accumulate, aggregate, clean, dedup, extract, ingest, stories
from newsgate.tasks.extract.sense import MIN_ROWS_FOR_DRIFT
from newsgate.tasks.gates import EXPECTATIONS_DIR, GateContext, run_gate, run_pandera
from newsgate.tasks.reader import ReleaseView

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
    """The seeds' release, made by the stages' own functions (no flow, no Prefect), plus a real
    rewrite pair from the bench corpus: the seeds hold no two reports of one story, and the
    stories checks need rows joined by a link to break."""
    files = [{"path": str(p)} for p in [*seed_paths, ROOT / "tests/fixtures/stories/rewrite_pair.jsonl"]]
    documents = ingest.STAGE.frames(ingest.ingest_records(files))["documents"]
    articles = clean.STAGE.over_frame(documents)["articles"]
    tables = {"documents": documents, "removals": clean.STAGE.over_frame(documents)["removals"]}
    made, _ = dedup.dedup_stage(ReleaseView.of({"articles": articles}), None)
    tables.update(clusters=made["clusters"],
                  articles=accumulate.patch(articles, made["articles"], "article_id"))
    tables.update(stories.stories_stage(tables, None)[0])
    tables.update({t: f for t, f in extract.STAGE.over_frame(tables["articles"]).items()
                   if t != "quarantine"})
    tables.update(aggregate.aggregate_stage(tables)[0])
    tables["quarantine"] = pd.DataFrame([{"stage": "ingest", "source": "x.bin", "doc_id": None,
                                          "reason": "not text", "detail": "binary"}])
    n_documents, n_articles = len(documents), len(articles)
    tables["accounting"] = pd.DataFrame([{
        "inputs": n_documents, "documents_plus_ingest_quarantine": n_documents,
        "documents": n_documents, "documents_with_articles_plus_clean_quarantine":
        articles["doc_id"].nunique(), "articles": n_articles, "clustered_articles": n_articles}])
    return tables


def _gate(table: str, df: pd.DataFrame, release: dict, previous: dict | None = None):
    context = GateContext(tables={**release, table: df}, previous=previous or {})
    return run_gate(table, df.reset_index(drop=True), stage="test", context=context)


def test_the_seeds_release_passes_every_gate(release):
    for table in SUITES:
        kept, result = _gate(table, release[table], release)
        # a share check (`mostly`) may warn on eight articles (a quarter of the seeds' indicators
        # have no period); every other check passes
        shares = {_label(e) for e in SUITES[table]["expectations"] if e["kwargs"].get("mostly")}
        assert result.passed and result.quarantine.empty, table
        assert all(c.check in shares for c in result.warnings), (table, result.warnings)


def _label(expectation: dict) -> str:
    """The gate's name of a suite's expectation (tasks/gates.py)."""
    kw = expectation["kwargs"]
    target = (kw.get("column") or "/".join(filter(None, [kw.get("column_A"), kw.get("column_B")]))
              or ",".join(kw.get("column_list") or []))
    return f"{expectation['type']}({target})" if target else expectation["type"]


def _break_derived(check: str, df: pd.DataFrame) -> pd.DataFrame:
    """Frames that break the rules computed into `_check_*` columns (tasks/gates.py)."""
    df = df.copy()
    if check == "boilerplate_hits":  # a boilerplate line left in a body
        df.loc[0, "body"] = df.loc[0, "body"] + "\n责任编辑：刘响"
        df.loc[0, "n_chars"] = len(df.loc[0, "body"])
    elif check == "similarity_meets_threshold":
        df.loc[0, ["kind", "similarity"]] = ["near", 0.1]
    elif check == "place_resolved":
        df.loc[df["kind"] == "place", "normalized"] = None
    elif check == "reconciles":  # a total that is not the sum of its detail rows
        df.loc[df["n_projects"] > 0, "investment_yuan_total"] += 1e9
    elif check == "full_date_share_change":  # full dates in the previous release, years now
        df["published_date"] = df["published_date"].str[:4]
    elif check == "link_meets_threshold":  # a link across copy clusters scored too low to link
        df.loc[_joined(df), "score"] = 0.01
    elif check == "within_cluster_is_copy":  # joined to an article of its own copy cluster
        i = _joined(df)
        df.loc[i, "cluster_id"] = df.set_index("article_id").loc[df.loc[i, "matched_id"], "cluster_id"]
    else:
        raise AssertionError(f"no way to break _check_{check}: add one here")
    return df


def _joined(df: pd.DataFrame):
    """The first stories row joined to its story by a link (not the representative, no copy)."""
    return df.index[df["relation"].isin(["condensed", "rewrite", "same"])][0]


def _drifted(check: str, df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A table large enough to be compared, and a previous release's that it drifted from:
    every value of the shared column changed (share), or one fact per article (per article)."""
    now = pd.concat([df] * -(-MIN_ROWS_FOR_DRIFT // len(df)), ignore_index=True)
    before = now.copy()
    if check == "share_drift":
        for column in ("kind", "pattern", "measure"):  # what tasks/gates.py compares shares of
            if column in before:
                before[column] = "another value"
    else:
        before["article_id"] = [f"a-{i}" for i in range(len(before))]
    return now, before


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
    elif kind == "expect_column_values_to_be_in_set":  # a value outside the set everywhere
        allowed = kw["value_set"]
        df[column] = (not allowed[0]) if isinstance(allowed[0], bool) else "not-in-the-set"
    elif kind == "expect_column_max_to_be_between":
        df.loc[0, column] = kw["max_value"] + 1
    elif kind == "expect_column_pair_values_to_be_equal":
        df[kw["column_A"]] = df[kw["column_B"]] + 1
    else:
        raise AssertionError(f"no way to break {kind}: add one here")
    return df


@pytest.mark.parametrize("table, i", [(t, i) for t, s in SUITES.items() for i in range(len(s["expectations"]))])
def test_every_suite_expectation_can_fail(release, table, i):
    expectation = SUITES[table]["expectations"][i]
    check = (expectation["kwargs"].get("column") or "").removeprefix("_check_")
    if check in ("share_drift", "per_article_drift"):  # against the previous release
        broken, before = _drifted(check, release[table])
        _, result = _gate(table, broken, release, {table: before})
    else:  # (the full-date share: against the previous release's articles, as published)
        _, result = _gate(table, _break(expectation, release[table]), release,
                          {"articles": release["articles"]})
    label = _label(expectation)
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
        for check in schema.checks:  # a row rule's quarantine reason is its message or name
            yield table, None, check.error or check.name


ROW_RULE_BREAKERS = {  # the models' row rules (dataframe_check), broken on the first row
    "text is blank": lambda df: df.assign(text=["  \n "] + list(df["text"][1:])),
    "n_chars != len(body)": lambda df: df.assign(n_chars=[df["n_chars"][0] + 1] + list(df["n_chars"][1:])),
    "end <= start": lambda df: df.assign(end=[df["start"][0]] + list(df["end"][1:])),
    "published_date is in the future or before 1990":
        lambda df: _first(df, "published_date", published_date="2091-05-01"),
    "the outlet is a person's name, not an organisation":
        lambda df: _first(df, "reporters", outlet=next(r[0] for r in df["reporters"] if len(r))),
    "relation is 'unique' exactly for the representative, which has no match":
        lambda df: _first(df, "matched_id", is_representative=True),
    # the sense rules of tasks/extract/sense.py, on a row they apply to
    "range_ordered": lambda df: _first(df, "value", value_max=df["value"].dropna().iloc[0] - 1),
    "count_is_whole": lambda df: _first(df, "value", measure="count", value=2.37),
    "amount_reads_back": lambda df: _first(df, "value", value=df["value"].dropna().iloc[0] * 1e4 + 1),
    "investment_range_ordered": lambda df: _first(
        df, "investment_yuan", investment_yuan_max=df["investment_yuan"].dropna().iloc[0] / 2),
    "investment_reads_back": lambda df: _first(
        df, "investment_text", investment_yuan=df["investment_yuan"].dropna().iloc[0] * 1e4 + 1),
    "metric_names_a_measure": lambda df: _first(df, "metric", metric="和"),
    "unit_fits_metric": lambda df: _first(df, "metric", metric="固定资产投资", measure="area"),
}


def _first(df: pd.DataFrame, where: str, **values) -> pd.DataFrame:
    """`df` with `values` set on the first row that has a `where` value."""
    has = df[where].map(lambda v: v is not None and v == v and (not hasattr(v, "__len__") or len(v) > 0))
    df = df.copy()
    i = df.index[has.to_numpy()][0]
    for column, value in values.items():
        df[column] = df[column].astype(object)
        df.at[i, column] = value
    return df


# (flags are the nullable boolean type: with `bool`, pandera turned a null into False before its
# null check, and the not_nullable checks of five flag columns could not fail)
@pytest.mark.parametrize("table, column, name", _pandera_checks())
def test_every_pandera_check_quarantines_the_rows_that_break_it(release, table, column, name):
    df = release[table]
    if column is None:
        broken = ROW_RULE_BREAKERS[name](df).reset_index(drop=True)
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
