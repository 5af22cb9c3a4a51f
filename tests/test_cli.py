"""The command line as users meet it (issues 13 and 15): every misuse gets one plain line that
says what was wrong and what to do, and the documented exit code, before anything runs; the
read commands take LATEST, `diff` names its columns, every `--help` has an example.

Misuse cases run `main()` in this process with the flow replaced by a failure: a case that
reached the flow would not exit 2. The read cases use two releases the flow made from seeds.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import CONTRACT

from newsgate.flows import cli
from newsgate.flows.cli import EXIT_USAGE, main
from newsgate.tasks.gates import EXPECTATIONS_DIR
from newsgate.tasks.publish import Lake

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
PYTHON_QUOTING = re.compile(r"'[^'\s]*'|\"[^\"\s]*\"|\\x[0-9a-f]{2}|Traceback")

# (case, argv, exit code, what the one line must say). Placeholders: {seeds} the seeds,
# {tmp} a fresh folder, {file} a file, {empty} an empty folder, {badsuite} suites with a
# truncated articles.json, {partsuite} suites without visits.json, {full} a folder with a file in it, {lake} an output folder with two
# releases ({r1} the older), {damaged} a copy of it whose LATEST manifest is truncated.
MISUSE = [
    ("no command", [], 2, ["COMMAND", "newsgate --help"]),
    ("unknown command", ["frobnicate"], 2, ["invalid choice: frobnicate", "run, releases"]),
    ("batch size 0", ["run", "{seeds}", "--batch-size", "0"], 2,
     ["--batch-size", "at least 1, not 0"]),
    ("batch size -5", ["run", "{seeds}", "--batch-size", "-5"], 2, ["at least 1, not -5"]),
    ("batch size not a number", ["run", "--batch-size", "ten"], 2, ["at least 1, not ten"]),
    ("workers -2", ["run", "{seeds}", "--workers", "-2"], 2, ["--workers", "not -2"]),
    ("workers 0", ["run", "{seeds}", "--workers", "0"], 2, ["--workers", "not 0"]),
    ("max warnings -3", ["run", "--max-warnings", "-3"], 2, ["--max-warnings", "at least 0"]),
    ("unknown runner", ["run", "--runner", "spark"], 2, ["invalid choice: spark", "local, dask"]),
    ("dask address without dask", ["run", "{seeds}", "--dask-address", "tcp://h:8786"], 2,
     ["--dask-address needs --runner dask"]),
    ("approve and no review", ["run", "--approve", "--no-review"], 2,
     ["--no-review", "not allowed with", "--approve"]),
    ("missing source", ["run", "{tmp}/nope.txt"], 2, ["no such file or folder", "nope.txt"]),
    ("empty source folder", ["run", "{empty}"], 2, ["no files to read", ".jsonl"]),
    ("everything excluded", ["run", "{seeds}", "--exclude", "*.txt"], 2,
     ["no files to read", "5 excluded"]),
    ("out is a file", ["run", "{seeds}", "--out", "{file}"], 2,
     ["--out", "is a file", "output folder"]),
    ("empty expectations folder", ["run", "{seeds}", "--expectations", "{empty}"], 2,
     ["--expectations", "holds no suites", "articles.json"]),
    ("invalid suite", ["run", "{seeds}", "--expectations", "{badsuite}"], 2,
     ["--expectations", "articles.json is not valid JSON", "line"]),
    ("expectations lacking a suite", ["run", "{seeds}", "--expectations", "{partsuite}"], 2,
     ["--expectations", "lacks visits.json"]),
    ("expectations is a file", ["run", "{seeds}", "--expectations", "{file}"], 2,
     ["--expectations", "is not a folder"]),
    ("releases of a file", ["releases", "--out", "{file}"], 2, ["--out", "is a file"]),
    ("releases of nothing", ["releases", "--out", "{tmp}/nowhere"], 2,
     ["no newsgate output at", "--out names the output folder"]),
    ("releases of another folder", ["releases", "--out", "{full}"], 2,
     ["is not a newsgate output folder"]),
    ("show without a table", ["show", "--out", "{lake}"], 2, ["required: TABLE"]),
    ("show an unknown table", ["show", "nosuch", "--out", "{lake}"], 2,
     ["no table nosuch", ", ".join(CONTRACT)]),
    ("show an unknown release", ["show", "projects", "--release", "rel-nope", "--out", "{lake}"],
     2, ["no release rel-nope", "{r1}", "LATEST"]),
    ("show a negative limit", ["show", "projects", "--limit", "-1", "--out", "{lake}"], 2,
     ["--limit", "at least 0, not -1"]),
    ("export with --out as the file", ["export", "projects", "--format", "csv",
                                       "--out", "{tmp}/x.csv"], 2,
     ["no newsgate output at", "use -o", "x.csv"]),
    ("export an unknown format", ["export", "projects", "--format", "xls"], 2,
     ["invalid choice: xls", "csv, parquet"]),
    ("export without a format", ["export", "projects", "--out", "{lake}"], 2,
     ["give --format csv or --format parquet"]),
    ("export format against -o", ["export", "projects", "--format", "csv",
                                  "-o", "{tmp}/p.parquet", "--out", "{lake}"], 2,
     ["ends in .parquet but --format is csv"]),
    ("export a release as csv", ["export", "--format", "csv", "--out", "{lake}"], 2,
     ["whole release exports as Parquet", "TABLE"]),
    ("export into a full folder", ["export", "-o", "{full}", "--out", "{lake}"], 2,
     ["not an empty folder"]),
    ("diff an unknown release", ["diff", "rel-nope", "LATEST", "--out", "{lake}"], 2,
     ["no release rel-nope", "{r1}"]),
    ("diff one release", ["diff", "LATEST", "--out", "{lake}"], 2, ["required: R2"]),
    ("report of an unknown run", ["report", "run-nope", "--out", "{lake}"], 2,
     ["no run run-nope", "latest runs: run-"]),
    ("releases with a truncated manifest", ["releases", "--out", "{damaged}"], 1,
     ["manifest", "{r2}.json", "damaged"]),
    ("show with a truncated manifest", ["show", "projects", "--out", "{damaged}"], 1,
     ["{r2}.json", "damaged"]),
]


@pytest.fixture(scope="module")
def places(tmp_path_factory) -> dict[str, str]:
    tmp = tmp_path_factory.mktemp("misuse")
    (tmp / "a-file.txt").write_text("not a folder", encoding="utf-8")
    (tmp / "empty").mkdir()
    (tmp / "full").mkdir()
    (tmp / "full" / "notes.txt").write_text("someone's file", encoding="utf-8")
    shutil.copytree(EXPECTATIONS_DIR, tmp / "badsuite", ignore=shutil.ignore_patterns("__*"))
    text = (tmp / "badsuite" / "articles.json").read_text(encoding="utf-8")
    (tmp / "badsuite" / "articles.json").write_text(text[:len(text) // 2], encoding="utf-8")
    shutil.copytree(EXPECTATIONS_DIR, tmp / "partsuite", ignore=shutil.ignore_patterns("__*"))
    (tmp / "partsuite" / "visits.json").unlink()
    return {"seeds": str(SEEDS), "tmp": str(tmp), "file": str(tmp / "a-file.txt"),
            "empty": str(tmp / "empty"), "full": str(tmp / "full"),
            "badsuite": str(tmp / "badsuite"), "partsuite": str(tmp / "partsuite")}


@pytest.fixture(scope="module")
def lake_places(seed_releases, tmp_path_factory) -> dict[str, str]:
    damaged = tmp_path_factory.mktemp("damaged") / "out"
    shutil.copytree(seed_releases, damaged)
    r1, r2 = [m["release_id"] for m in Lake(seed_releases).releases()]
    manifest = damaged / "releases" / f"{r2}.json"
    manifest.write_text(manifest.read_text(encoding="utf-8")[:200], encoding="utf-8")
    return {"lake": str(seed_releases), "damaged": str(damaged), "r1": r1, "r2": r2}


@pytest.mark.parametrize("case, argv, code, says", MISUSE, ids=[c[0] for c in MISUSE])
def test_misuse_gets_one_plain_line_and_the_documented_exit_code(
        case, argv, code, says, places, lake_places, monkeypatch, capsys, tmp_path):
    def must_not_start(*args, **kwargs):
        raise AssertionError("the flow started")

    monkeypatch.setattr(cli, "_run_flow", must_not_start)
    monkeypatch.chdir(tmp_path)  # defaults (./data, ./projects.csv) land in a fresh folder
    places = {**places, **lake_places}
    argv = [a.format(**places) for a in argv]

    assert main(argv) == code, case
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("newsgate"), lines[0]
    for fragment in says:
        fragment = fragment.format(**places) if "{" in fragment else fragment
        assert fragment in lines[0], f"{fragment} not in: {lines[0]}"
    assert not PYTHON_QUOTING.search(lines[0]), lines[0]
    assert not (tmp_path / "data").exists(), "a misuse wrote an output folder"


def test_there_are_at_least_twenty_misuse_cases():
    assert len(MISUSE) >= 20 and len({c[0] for c in MISUSE}) == len(MISUSE)


def _newsgate(*argv: str, cwd: Path) -> subprocess.CompletedProcess:
    script = Path(sys.executable).with_name("newsgate")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "newsgate.flows.cli"]
    return subprocess.run([*command, *argv], cwd=cwd, capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL)


def test_the_installed_command_gives_the_line_and_the_code_in_a_real_process(
        tmp_path, lake_places):
    done = _newsgate("run", str(SEEDS), "--workers", "-2", cwd=tmp_path)
    assert (done.returncode, done.stdout) == (EXIT_USAGE, "")
    assert done.stderr.splitlines() == [
        "newsgate run: argument --workers: must be a whole number of at least 1, not -2 "
        "(newsgate run --help lists the options)"]
    done = _newsgate("show", "nosuch", "--out", lake_places["lake"], cwd=tmp_path)
    assert done.returncode == EXIT_USAGE and len(done.stderr.splitlines()) == 1
    assert "Traceback" not in done.stderr and "tables: documents" in done.stderr


def test_debug_adds_the_traceback(lake_places, capsys):
    assert main(["show", "projects", "--out", lake_places["damaged"], "--debug"]) == 1
    err = capsys.readouterr().err
    assert err.splitlines()[0].startswith("newsgate show: manifest ")
    assert "Traceback" in err


def _subcommands() -> dict:
    [choices] = [a.choices for a in cli._parser()._actions if a.dest == "command"]
    return choices


@pytest.mark.parametrize("command", sorted(_subcommands()))
def test_every_help_lists_its_options_with_an_example(command, capsys):
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    parser = _subcommands()[command]
    for action in parser._actions:
        for option in action.option_strings:
            assert option in text, f"{command} --help does not list {option}"
        if action.option_strings or action.dest != "help":
            assert action.help, f"{command}: {action.dest} has no help text"
    example = text.split("example:", 1)[1].strip().splitlines()[0]
    assert example.startswith(f"newsgate {command}"), example


def test_latest_is_a_release_id_and_show_prints_rows(lake_places, capsys):
    assert main(["show", "projects", "--release", "LATEST", "--limit", "2",
                 "--out", lake_places["lake"]]) == 0
    out = capsys.readouterr().out
    latest = Lake(lake_places["lake"]).latest_release_id()
    assert latest == lake_places["r2"]
    n = Lake(lake_places["lake"]).manifest()["tables"]["projects"]["rows"]
    assert out.splitlines()[-1] == f"({n} rows of projects in {latest})"
    assert len(out.splitlines()) == 1 + 2 + 1  # header, two rows, the count
    assert main(["show", "projects", "--release", "latest", "--limit", "0",
                 "--out", lake_places["lake"]]) == 0
    assert capsys.readouterr().out.strip() == f"({n} rows of projects in {latest})"


def test_diff_names_its_columns(lake_places, capsys):
    assert main(["diff", lake_places["r1"], "LATEST", "--out", lake_places["lake"]]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"rows of {lake_places['r2']} against {lake_places['r1']}"
    assert lines[1].split() == ["table", "added", "removed", "changed", "unchanged"]
    rows = {line.split()[0]: [int(n) for n in line.split()[1:]] for line in lines[2:-1]}
    assert sorted(rows) == sorted(CONTRACT)
    assert rows["documents"] == [1, 0, 0, 1]  # seed 001 added to seed 004
    assert lines[-1].startswith("changed: same key, other values")


def test_export_takes_the_format_from_the_file_name(lake_places, tmp_path, capsys):
    import pandas as pd
    target = tmp_path / "projects.csv"
    assert main(["export", "projects", "-o", str(target), "--release", lake_places["r1"],
                 "--out", lake_places["lake"]]) == 0
    rows = Lake(lake_places["lake"]).manifest(lake_places["r1"])["tables"]["projects"]["rows"]
    assert len(pd.read_csv(target)) == rows
    assert f"wrote {rows} rows of projects ({lake_places['r1']}) to {target}" in \
        capsys.readouterr().out


def test_releases_marks_latest(lake_places, capsys):
    assert main(["releases", "--out", lake_places["lake"]]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"  {lake_places['r1']}")
    assert lines[1].startswith(f"* {lake_places['r2']}")
    assert lines[-1] == "(* = LATEST)"


def test_a_run_of_nothing_yet_lists_no_releases(tmp_path, capsys):
    (tmp_path / "runs").mkdir()  # an output folder whose runs never published
    assert main(["releases", "--out", str(tmp_path)]) == 0
    assert capsys.readouterr().out.strip() == f"no releases in {tmp_path} yet"


def test_report_names_the_latest_run(lake_places, capsys):
    assert main(["report", "--out", lake_places["lake"]]) == 0
    path = Path(capsys.readouterr().out.strip())
    assert path.name == "report.html" and path.is_file()
    assert json.loads((Path(lake_places["lake"]) / "releases" / f"{lake_places['r2']}.json")
                      .read_text(encoding="utf-8"))["run_id"] == path.parent.name
