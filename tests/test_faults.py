"""Promises that hold under faults (issue 13), each injected for real and asserted as a promise:
after any fault, LATEST is either the old release (the exit code says "not published") or a
complete new one (exit 0), and `newsgate verify` passes.

Faults: `kill -9` of a `newsgate run` at clean, extract and publish; a full disk (a small tmpfs
when this process may mount one, and an injected ENOSPC at the commit and after it); a
corrupted Parquet file, manifest and LATEST; a FIFO and an oversize line in the input; script
payloads in the input, looked for in every HTML page the run writes; terminal escapes in `show`.

Runs are the real command line: in this process (`cli.main`, so a fault can be injected) or,
to be killed, as a subprocess (`test_operations.Runs`). All use the session's Prefect server.
"""
from __future__ import annotations

import errno
import json
import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from newsgate.flows import cli
from newsgate.tasks import publish as publish_module
from newsgate.tasks.publish import Lake
from test_operations import CONTRACT, Runs, _wait_for, runs  # noqa: F401 (fixture)

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
EXIT_FAILED = 1
KILL_TIMEOUT_S = 240

pytestmark = pytest.mark.faults


# ------------------------------------------------------------------ runs and the promise

def newsgate(*argv: str, capsys=None) -> tuple[int, str, str]:
    """`newsgate ARGV` in this process: (exit code, stdout, stderr)."""
    if capsys is not None:
        capsys.readouterr()
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr() if capsys is not None else ("", "")
    return code, out, err


def run(out: Path, *sources: Path, capsys=None) -> tuple[int, str, str]:
    return newsgate("run", *(sources or (SEEDS,)), "--out", out, "--no-review", capsys=capsys)


def assert_promise(out: Path, code: int | None, before: str | None) -> str | None:
    """LATEST is the old release and the exit code says "not published", or LATEST is a complete
    new release built on the old one and the exit code is 0; `newsgate verify` passes. A killed
    run (`code` None) says nothing: either is fine."""
    lake = Lake(out)
    latest = lake.latest_release_id()
    if code == 0 or (code is None and latest != before):
        assert latest != before, "exit 0 but LATEST did not move"
        manifest = lake.manifest()
        assert manifest["previous"] == before
        assert sorted(manifest["tables"]) == sorted(CONTRACT)
        for table, entry in manifest["tables"].items():
            assert len(lake.read_table(table)) == entry["rows"], table
    else:
        assert latest == before, f"exit {code} but LATEST moved from {before} to {latest}"
    if latest is not None:
        assert cli.main(["verify", "--out", str(out)]) == 0
    return latest


def edited_seeds(path: Path, copies: int) -> Path:
    """`copies` edited copies of each seed: new documents, near duplicates of the seeds."""
    path.mkdir(parents=True, exist_ok=True)
    for i in range(1, copies + 1):
        for seed in sorted(SEEDS.glob("*.txt")):
            (path / f"{seed.stem}_edit{i:02d}.txt").write_text(
                seed.read_text(encoding="utf-8").replace("。", f"（第{i}稿）。", 1), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def base_release(harness, tmp_path_factory) -> Path:
    """An output directory holding release A (the seeds), built once for the module."""
    out = tmp_path_factory.mktemp("base") / "out"
    assert cli.main(["run", str(SEEDS), "--out", str(out), "--no-review"]) == 0
    return out


@pytest.fixture
def lake_a(base_release, tmp_path) -> Lake:
    """A copy of release A's output directory, for one test to damage."""
    shutil.copytree(base_release, tmp_path / "out")
    return Lake(tmp_path / "out")


@pytest.fixture(scope="module")
def more_input(tmp_path_factory) -> Path:
    return edited_seeds(tmp_path_factory.mktemp("more"), copies=2)


# ------------------------------------------------------------------ kill -9 at each stage

# the runner's line as a stage starts its batches (flows/stage_runner.py), or a batch's task run
STAGE_STARTED = {stage: re.compile(rf"{stage}: \d+ rows in|Task run '{stage}-")
                 for stage in ("clean", "extract")}


@pytest.mark.slow
@pytest.mark.parametrize("stage", ["clean", "extract", "publish"])
def test_kill_9_at_each_stage_keeps_the_old_release(runs, lake_a, more_input, tmp_path, stage):
    before = lake_a.latest_release_id()
    # -v: Prefect's log on the terminal too, where the stage lines are watched for
    victim = runs.start(SEEDS, edited_seeds(tmp_path / "in", copies=10), out=lake_a.root,
                        verbose=True)
    if stage == "publish":  # the first new Delta commit: tables being written, LATEST not moved
        commits = [lake_a.lake_dir / t / "_delta_log" / f"{e['version'] + 1:020d}.json"
                   for t, e in lake_a.manifest()["tables"].items()]
        _wait_for(lambda: any(p.exists() for p in commits), "a new Delta commit", KILL_TIMEOUT_S,
                  interval_s=0.005, procs=[victim])
    else:
        _wait_for(lambda: STAGE_STARTED[stage].search(runs.stdout(victim) + runs.stderr(victim)),
                  f"the {stage} stage", KILL_TIMEOUT_S, interval_s=0.02, procs=[victim])
    os.killpg(victim.pid, signal.SIGKILL)
    assert victim.wait(10) == -signal.SIGKILL
    after_kill = assert_promise(lake_a.root, None, before)
    assert after_kill == before or stage == "publish"  # killed before publishing: nothing moved
    if stage == "publish":  # and a run after the kill publishes a complete release on top
        code = runs.wait(runs.start(SEEDS, tmp_path / "in", more_input, out=lake_a.root))
        assert code == 0
        assert assert_promise(lake_a.root, code, after_kill) != after_kill


# ------------------------------------------------------------------ full disk

def _failing_write(name: str):
    """`_atomic_write` that runs out of space writing a file whose name matches `name`."""
    real = publish_module._atomic_write

    def write(path: Path, text: str) -> None:
        if re.fullmatch(name, path.name):
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real(path, text)
    return write


@pytest.mark.parametrize("name", [r"rel-.*\.json", "LATEST"])
def test_full_disk_at_the_commit_publishes_nothing(lake_a, more_input, monkeypatch, capsys, name):
    before = lake_a.latest_release_id()
    monkeypatch.setattr(publish_module, "_atomic_write", _failing_write(name))
    code, _, err = run(lake_a.root, SEEDS, more_input, capsys=capsys)
    monkeypatch.undo()
    assert code == EXIT_FAILED and "No space left on device" in err
    assert_promise(lake_a.root, code, before)
    uncommitted = sorted(set(p.stem for p in lake_a.releases_dir.glob("rel-*.json")) - {before})
    if name == "LATEST":  # the manifest was written, LATEST never moved: only read when asked
        assert len(uncommitted) == 1
        code, _, err = newsgate("show", "articles", "--release", uncommitted[0], "--out",
                                lake_a.root, capsys=capsys)
        assert code == EXIT_FAILED and "never committed" in err and "--uncommitted" in err
        code, out, _ = newsgate("show", "articles", "--release", uncommitted[0], "--uncommitted",
                                "--out", lake_a.root, capsys=capsys)
        assert code == 0 and "rows of articles in" in out
    else:
        assert uncommitted == []


def test_full_disk_after_the_commit_still_says_published(lake_a, more_input, monkeypatch, capsys):
    """The commit log is written after LATEST moved: failing there is a warning, exit 0."""
    before = lake_a.latest_release_id()
    monkeypatch.setattr(publish_module, "_atomic_write", _failing_write("COMMITTED"))
    code, _, _ = run(lake_a.root, SEEDS, more_input, capsys=capsys)
    monkeypatch.undo()
    assert code == 0
    assert assert_promise(lake_a.root, code, before) != before


def test_full_disk_writing_the_report_after_the_commit_exits_0(lake_a, more_input, monkeypatch,
                                                                capsys):
    """After the commit, a failure is a warning on the published run (flows/release.py)."""
    from newsgate.flows import release
    before = lake_a.latest_release_id()

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(release, "write_report", no_space)
    code, out, _ = run(lake_a.root, SEEDS, more_input, capsys=capsys)
    assert_promise(lake_a.root, code, before)
    assert code == 0 and lake_a.latest_release_id() != before
    assert "warning: report not written: OSError" in out and "report  (not written)" in out


def _mount_tmpfs(path: Path, size: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True)
    return done.returncode == 0


@pytest.mark.slow
@pytest.mark.parametrize("free_kb", [16, 1024])
def test_a_really_full_disk_keeps_the_promise(runs, base_release, more_input, tmp_path, free_kb):
    """A tmpfs holding release A with `free_kb` left: wherever the run runs out of space, LATEST
    is A (or a complete new release) and verifies. (A subprocess: the exit code is the
    process's, whatever the run raised.)"""
    disk = tmp_path / "disk"
    if not _mount_tmpfs(disk, "256m"):
        pytest.skip("cannot mount a tmpfs here (the injected ENOSPC tests cover the commit)")
    try:
        out = disk / "out"
        shutil.copytree(base_release, out)
        used_kb = -(-shutil.disk_usage(disk).used // 1024)
        subprocess.run(["mount", "-o", f"remount,size={used_kb + free_kb}k", str(disk)], check=True)
        before = Lake(out).latest_release_id()
        code, err = runs.run(SEEDS, more_input, out=out)
        assert code != 0 and ("No space left" in err or "not enough free space" in err), err[-2000:]
        assert_promise(out, code, before)
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)


# ------------------------------------------------------------------ corrupted lake

def _flip_one_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def test_a_corrupted_parquet_file_stops_the_next_run_and_is_named(lake_a, more_input, capsys):
    before = lake_a.latest_release_id()
    damaged = next(iter(lake_a.manifest()["tables"]["articles"]["files"]))
    _flip_one_byte(lake_a.root / damaged)
    code, _, err = newsgate("verify", "--out", lake_a.root, capsys=capsys)
    assert code == EXIT_FAILED and f"table articles: file {damaged}" in err
    code, _, err = newsgate("show", "articles", "--verify", "--out", lake_a.root, capsys=capsys)
    assert code == EXIT_FAILED and damaged in err
    code, _, err = run(lake_a.root, SEEDS, more_input, capsys=capsys)
    assert code == EXIT_FAILED and f"table articles: file {damaged}" in err  # never built upon
    assert lake_a.latest_release_id() == before
    assert sorted(p.stem for p in lake_a.releases_dir.glob("rel-*.json")) == [before]


@pytest.mark.parametrize("latest", ["", "../../etc/passwd\n", None])
def test_a_lost_or_forged_latest_stops_the_run_until_repaired(lake_a, more_input, capsys, latest):
    before = lake_a.latest_release_id()
    path = lake_a.releases_dir / "LATEST"
    path.unlink() if latest is None else path.write_text(latest)
    code, _, err = run(lake_a.root, SEEDS, more_input, capsys=capsys)
    assert code == EXIT_FAILED and len(err.strip().splitlines()) == 1, err
    if latest is None or not latest.strip():
        assert f"newest: {before}" in err and "newsgate repair" in err
    else:
        assert "not a release id" in err
    assert not list(lake_a.releases_dir.glob("rel-*.json"))[1:]  # nothing published
    code, out, _ = newsgate("repair", "--out", lake_a.root, capsys=capsys)
    assert code == 0 and f"LATEST now names {before}" in out
    assert assert_promise(lake_a.root, EXIT_FAILED, before) == before
    if latest is None:  # and a run builds on the restored history again
        code, _, _ = run(lake_a.root, SEEDS, more_input, capsys=capsys)
        assert code == 0 and assert_promise(lake_a.root, code, before) != before


def test_a_truncated_manifest_is_named_and_the_older_ones_still_listed(lake_a, more_input, capsys):
    before = lake_a.latest_release_id()
    assert run(lake_a.root, SEEDS, more_input, capsys=capsys)[0] == 0
    newest = lake_a.latest_release_id()
    old = lake_a.releases_dir / f"{before}.json"
    old.write_text(old.read_text()[:200])
    code, out, _ = newsgate("releases", "--out", lake_a.root, capsys=capsys)
    assert code == 0 and f"{before}  DAMAGED: manifest" in out and f"* {newest}" in out
    latest = lake_a.releases_dir / f"{newest}.json"
    latest.write_text(latest.read_text()[:300])
    code, _, err = newsgate("show", "articles", "--out", lake_a.root, capsys=capsys)
    assert code == EXIT_FAILED and err.count("\n") == 1
    assert f"manifest {latest} is damaged (truncated?)" in err


# ------------------------------------------------------------------ hostile inputs

def test_a_fifo_and_an_oversize_line_are_quarantined_not_waited_for(harness, tmp_path, capsys):
    source = tmp_path / "in"
    shutil.copytree(SEEDS, source)
    os.mkfifo(source / "feed.jsonl")
    huge = json.dumps({"text": "项目建设" * (3 << 20)}, ensure_ascii=False)  # 36 MB
    (source / "huge.jsonl").write_text(huge + "\n" + json.dumps({"text": "最后一行"}) + "\n")
    code, _, err = run(tmp_path / "out", source, capsys=capsys)
    assert code == 0, err[-2000:]
    quarantine = Lake(tmp_path / "out").read_table("quarantine").set_index("source")
    assert quarantine.loc[str(source / "feed.jsonl"), "reason"] == "not a regular file"
    assert quarantine.loc[f"{source / 'huge.jsonl'}#L1", "reason"] == "too large"
    documents = Lake(tmp_path / "out").read_table("documents")
    assert f"{source / 'huge.jsonl'}#L2" in set(documents["source"])


# payloads that change the page when they run: a title, an attribute on <body>
PAYLOADS = ["<script>document.title='pwned-xss13'</script>",
            "<img src=x onerror=\"document.body.setAttribute('data-pwned','xss13')\">",
            "<a href=\"javascript:document.title='pwned-xss13'\">xss13</a>"]
XSS_PAGE = (
    "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>邢台市重点项目集中开工"
    + PAYLOADS[0] + "</title></head><body><h1>邢台市重点项目集中开工" + PAYLOADS[1] + "</h1>"
    + "<p>本报讯 8月3日，河北省邢台市举行重点项目集中开工活动，共有38个项目开工，总投资216亿元。"
    + PAYLOADS[2] + "\ufffd</p><p>"
    + "".join(p.replace("<", "&lt;").replace(">", "&gt;") for p in PAYLOADS)
    + "项目涵盖装备制造、新能源、现代物流等领域，预计年内完成投资80亿元。</p></body></html>")
MARKER = "xss13"
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data"}


def executable_payloads(page: Path) -> list[str]:
    """Elements or attributes of `page` made from a payload (GX's own scripts are not)."""
    import lxml.html
    found = []
    for element in lxml.html.parse(str(page)).iter():
        if not isinstance(element.tag, str):
            continue
        if element.tag == "script" and MARKER in (element.text or ""):
            found.append(f"<script>{element.text[:80]}")
        if element.tag == "img" and element.get("src") == "x":
            found.append("<img src=x>")
        for name, value in element.attrib.items():
            if (name.startswith("on") or name == "data-pwned") and MARKER in value:
                found.append(f"<{element.tag} {name}={value[:80]}>")
            if name in URL_ATTRIBUTES and re.match(r"\s*(javascript|vbscript):", value, re.I):
                found.append(f"<{element.tag} {name}={value[:80]}>")
    return found


@pytest.fixture(scope="module")
def xss_run(harness, tmp_path_factory) -> Path:
    source = tmp_path_factory.mktemp("xss")
    (source / "payload.html").write_text(XSS_PAGE, encoding="utf-8")
    shutil.copy(next(SEEDS.glob("004_*.txt")), source)
    out = tmp_path_factory.mktemp("xss-out")
    assert cli.main(["run", str(source), "--out", str(out), "--no-review"]) == 0
    (run_dir,) = (out / "runs").iterdir()
    return run_dir


def test_no_page_the_run_writes_carries_an_executable_payload(xss_run):
    pages = sorted(xss_run.rglob("*.html"))
    docs = [p for p in pages if p.name == "documents.html"]
    assert (xss_run / "report.html") in pages and docs, pages
    for page in (xss_run / "report.html", *docs):  # the payload is there, as text
        assert MARKER in page.read_text(encoding="utf-8"), page
    assert {str(p.relative_to(xss_run)): executable_payloads(p) for p in pages} == {
        str(p.relative_to(xss_run)): [] for p in pages}


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed")
def test_no_payload_runs_in_headless_chromium(xss_run, tmp_path):
    import lxml.html
    pages = [xss_run / "report.html", *xss_run.rglob("documents.html")]
    for page in pages:
        dom = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", f"--user-data-dir={tmp_path / page.stem}",
             "--virtual-time-budget=3000", "--dump-dom", page.resolve().as_uri()],
            capture_output=True, text=True, timeout=120)
        assert dom.returncode == 0, dom.stderr[-2000:]
        tree = lxml.html.fromstring(dom.stdout)
        assert "pwned" not in (tree.findtext(".//title") or ""), page
        assert not tree.xpath("//*[@data-pwned]"), page


def test_show_never_prints_terminal_escapes_or_nul(harness, tmp_path, capsys):
    record = {"id": "evil\x1b]0;owned\x07\x1b[2J", "url": "http://x/\x00\x1b[31m",
              "title": "标题\x1b[5m\u202e", "text": next(SEEDS.glob("004_*.txt")).read_text()}
    (tmp_path / "feed.jsonl").write_text(json.dumps(record) + "\n", encoding="utf-8")
    assert run(tmp_path / "out", tmp_path / "feed.jsonl", capsys=capsys)[0] == 0
    for table in ("documents", "articles"):
        code, out, _ = newsgate("show", table, "--out", tmp_path / "out", capsys=capsys)
        assert code == 0
        assert not re.search("[\x00-\x08\x0b-\x1f\x7f\u202e]", out), repr(out[:500])
    code, out, _ = newsgate("show", "documents", "--out", tmp_path / "out", capsys=capsys)
    assert "\\x1b]0;owned\\x07" in out and "\\x00" in out
