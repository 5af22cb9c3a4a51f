"""Train the extract stage's learned parts on the facts gold's train part (python-crfsuite).

    python benchmarks/train_extract_models.py [--model names|indicators|all] [--split train]
                                              [--out-dir tasks/extract] [--limit N]

**names** (tasks/extract/name_tagger.py, project_names.crfsuite): each train article is tokenised and read by the rules alone (`find_projects(learned=False)`); every
window of a clause before a project head (`tagged_windows`) becomes one sequence: features from `clause_features` (the rules'
names among them), labels B/I/O from the gold's project names and aliases (optional ones too: they
are projects a reader may count) found in the text, longest first. The CRF is python-crfsuite's
L-BFGS with fixed L1/L2 weights and iterations, over the articles in file order, so the same gold
gives the same model.

**tags** (tasks/extract/indicator_tagger.py, indicator_tags.crfsuite): every span of a train
sentence that the tagger reads for its quantities (`tagged_spans`: a quantity's comma-separated
part and the parts before it) is one sequence (`sentence_items`: its tokens, each quantity one
item), read with the rules' own candidates (`indicator_candidates(tagged=False)`) among its
features; labels from the gold (`training_labels`): V for a quantity that is a gold indicator
(optional ones too: a reader may count them), M for the tokens of its metric as written in the
sentence, Q for other quantities, O for other tokens.

**indicators** (tasks/extract/indicator_filter.py, indicator_rows.crfsuite): every candidate row of
every train article (`Parsed.indicator_candidates`: a quantity with a metric, and the rule that
would reject it) is one one-item sequence labelled `yes` when it is a gold indicator (the same
number in the gold's evidence sentence) and `no` otherwise; candidates matching only optional gold
are left out. Names are trained first, since the indicator candidates read the projects, then
tags, since the candidates include the tagger's.

Choose settings and thresholds on the tune part (benchmarks/extract_quality.py --only tune), never
on test.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from facts_gold import load  # noqa: E402
from newsgate.tasks.extract import indicator_filter, indicator_tagger, name_tagger  # noqa: E402
from newsgate.tasks.extract.name_tagger import bio_labels, clause_features, tagged_windows  # noqa: E402
from scoring import _locate  # noqa: E402

NAME_PARAMS = {"c1": 0.1, "c2": 0.05, "max_iterations": 150, "feature.possible_transitions": True}
TAG_PARAMS = {"c1": 0.1, "c2": 0.05, "max_iterations": 150, "feature.possible_transitions": True}
ROW_PARAMS = {"c1": 0.0, "c2": 5.0, "max_iterations": 200}   # L2 only: chosen on the tune part


def gold_spans(text: str, record: dict) -> list[tuple[int, int]]:
    """Every occurrence of a gold project name or alias, longest names first, not overlapping."""
    names = sorted({n for p in record["projects"] for n in [p["name"], *(p.get("aliases") or [])] if n},
                   key=len, reverse=True)
    spans: list[tuple[int, int]] = []
    for name in names:
        at = text.find(name)
        while at >= 0:
            end = at + len(name)
            if all(end <= a or at >= b for a, b in spans):
                spans.append((at, end))
            at = text.find(name, end)
    return sorted(spans)


def name_sequences(records: list[dict]):
    """(features, labels) of every tagged clause of `records`."""
    from newsgate.tasks.extract.numbers import find_quantities
    from newsgate.tasks.extract.people import find_people
    from newsgate.tasks.extract.projects import find_projects
    from newsgate.tasks.extract.sentences import clauses
    from newsgate.tasks.extract.tokenize import tokenize
    for r in records:
        text = r["text"]
        tokens = tokenize(text)
        spans = clauses(text)
        people = {p.name for p in find_people(text, tokens)}
        rules = find_projects(text, tokens, spans, find_quantities(text, set(tokens.starts)), people, learned=False)
        rule_spans = [(p.name_start, p.name_end) for p in rules]
        gold = gold_spans(text, r)
        for window, _ in tagged_windows(text, tokens, spans):   # every window
            inside = [(s - window.start, e - window.start) for s, e in gold if window.start <= s and e <= window.end]
            yield (clause_features(text, tokens, window, rule_spans),
                   bio_labels(window.end - window.start, inside))


def tag_sequences(records: list[dict]):
    """(features, labels) of every span the tagger reads (`tagged_spans`, for every quantity of a
    sentence) of `records` (see the module doc)."""
    from newsgate.tasks.extract import parse_article
    for r in records:
        text = r["text"]
        parsed = parse_article({"article_id": r["id"], "title": r.get("title"), "body": text})
        rules = {c.indicator.quantity.start: c for c in parsed.indicator_candidates(tagged=False)}
        evidence = [_locate(text, g["evidence"]) for g in r["indicators"]]
        for sentence in parsed.sentences:
            starts = [q.start for q in parsed.quantities if sentence.start <= q.start < sentence.end]
            for span in indicator_tagger.tagged_spans(text, sentence, starts):
                items = indicator_tagger.sentence_items(text, parsed.tokens, span, parsed.quantities)
                if not any(it.quantity is not None for it in items):
                    continue
                gold = [(it.start, g["metric"]) for it in items if it.quantity is not None
                        for g, ev in zip(r["indicators"], evidence)
                        if ev and ev[0] <= it.start < ev[1] and _same_value(g, it.quantity)]
                yield (indicator_tagger.sequence_features(items, rules),
                       indicator_tagger.training_labels(text, items, gold))


def row_sequences(records: list[dict]):
    """(features, label) of every indicator candidate of `records` (see the module doc)."""
    from newsgate.tasks.extract import parse_article
    for r in records:
        text = r["text"]
        parsed = parse_article({"article_id": r["id"], "title": r.get("title"), "body": text})
        spans = [_locate(text, g["evidence"]) for g in r["indicators"]]
        for c in parsed.indicator_candidates():
            q = c.indicator.quantity
            hits = [g for g, span in zip(r["indicators"], spans) if span and span[0] <= q.start < span[1]
                    and _same_value(g, q)]
            if hits and all(g.get("optional") for g in hits):
                continue
            yield [indicator_filter.candidate_features(text, parsed.tokens, c)], ["yes" if hits else "no"]


def _same_value(g: dict, q) -> bool:
    from scoring import YUAN_UNITS, _same
    if g["unit"] == q.unit and _same(g["value"], q.value):
        return True
    return g["unit"] in YUAN_UNITS and q.unit in YUAN_UNITS and \
        _same(g["value"] * YUAN_UNITS[g["unit"]], q.value * YUAN_UNITS[q.unit])


# model -> (sequences, parameters, file, ships): a model ships (is written into the package, where
# the pipeline opens it) only when it beat the rules on the test part (docs/EXTRACTION.md); one
# that does not is written to benchmarks/.cache unless --out-dir says otherwise
MODELS = {"names": (name_sequences, NAME_PARAMS, name_tagger.MODEL_FILE.name, True),
          "tags": (tag_sequences, TAG_PARAMS, indicator_tagger.MODEL_FILE.name, True),
          "indicators": (row_sequences, ROW_PARAMS, indicator_filter.MODEL_FILE.name, True)}
CACHE = ROOT / "benchmarks" / ".cache"


def train(model: str, records: list[dict], out: Path) -> int:
    """Train `model` on `records` and write it to `out`; the number of sequences."""
    import pycrfsuite
    sequences, params, _, _ = MODELS[model]
    trainer = pycrfsuite.Trainer(verbose=False)
    n = 0
    for xseq, yseq in sequences(records):
        trainer.append(xseq, yseq)
        n += 1
    trainer.set_params(params)
    trainer.train(str(out))
    return n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", choices=[*MODELS, "all"], default="all")
    ap.add_argument("--split", default="train")
    ap.add_argument("--out-dir", default=None, help="default: the package for shipped models, else "
                    "benchmarks/.cache")
    ap.add_argument("--limit", type=int, default=None)
    args = ap.parse_args()
    records = load(args.split)[:args.limit]
    for model in MODELS if args.model == "all" else [args.model]:
        _, _, name, ships = MODELS[model]
        out_dir = Path(args.out_dir) if args.out_dir else name_tagger.MODEL_FILE.parent if ships else CACHE
        out_dir.mkdir(parents=True, exist_ok=True)
        out = out_dir / name
        n = train(model, records, out)
        print(f"{model}: trained on {n} sequences of {len(records)} {args.split} articles -> {out} "
              f"({out.stat().st_size / 1e3:.0f} kB)")


if __name__ == "__main__":
    main()
