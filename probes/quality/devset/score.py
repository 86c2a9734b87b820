"""Score predictions against the development set's labels.

``python -m probes.quality.devset.score [CASES.jsonl] [--workers N] [--split dev|heldout|all]
[--failures]`` runs the diagnosis on every case and prints per-fault precision, recall and
F1, the macro-F1 over the eleven faults, and the false-alarm rate on clean frames.

Counting: a labelled fault that is not reported is a miss; a reported fault that is
neither labelled nor in the case's ``allow`` list (what the applied fault physically brings
along, e.g. a covered lens is also dark) is a false positive. A clean frame with any
reported fault is a false alarm.
"""
from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path
from typing import Any, Iterable

from probes.quality.thresholds import FAULTS

HERE = Path(__file__).resolve().parent
CASES = HERE / "cases.jsonl"


def load_cases(path: Path = CASES) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def predict(path: Path = CASES, workers: int = 2, profile: str | None = None) -> dict[str, dict[str, Any]]:
    from probes.quality.cli import run_batch
    from probes.quality.thresholds import DEFAULT_PROFILE

    out, err = io.StringIO(), io.StringIO()
    run_batch(path, workers, profile or str(DEFAULT_PROFILE), out, err)
    res = [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]
    return {r["id"]: r for r in res}


def score(cases: Iterable[dict[str, Any]], predicted: dict[str, set[str]]) -> dict[str, Any]:
    tp = {f: 0 for f in FAULTS}
    fp = {f: 0 for f in FAULTS}
    fn = {f: 0 for f in FAULTS}
    clean = alarms = 0
    failures: list[str] = []
    for c in cases:
        truth, allow = set(c["labels"]), set(c.get("allow", []))
        pred = predicted.get(c["id"], set())
        for f in FAULTS:
            if f in truth and f in pred:
                tp[f] += 1
            elif f in truth:
                fn[f] += 1
                failures.append(f"{c['id']} {c['variant']}: missed {f}")
            elif f in pred and f not in allow:
                fp[f] += 1
                failures.append(f"{c['id']} {c['variant']}: false {f}")
        if not truth:
            clean += 1
            if pred - allow:
                alarms += 1
    per: dict[str, dict[str, float]] = {}
    for f in FAULTS:
        p = tp[f] / (tp[f] + fp[f]) if tp[f] + fp[f] else (1.0 if fn[f] == 0 else 0.0)
        r = tp[f] / (tp[f] + fn[f]) if tp[f] + fn[f] else 1.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        per[f] = {"precision": p, "recall": r, "f1": f1, "support": tp[f] + fn[f], "fp": fp[f]}
    macro = sum(v["f1"] for v in per.values()) / len(per)
    return {"per_fault": per, "macro_f1": macro, "clean": clean, "false_alarms": alarms,
            "false_alarm_rate": alarms / clean if clean else 0.0, "failures": failures}


def report(title: str, s: dict[str, Any], out=sys.stdout) -> None:
    out.write(f"-- {title}: macro-F1 {s['macro_f1']:.3f}, false alarms on clean frames "
              f"{s['false_alarms']}/{s['clean']} = {100 * s['false_alarm_rate']:.1f} %\n")
    out.write(f"   {'fault':13s} {'prec':>5s} {'rec':>5s} {'F1':>5s} {'n':>4s} {'fp':>3s}\n")
    for f, v in s["per_fault"].items():
        out.write(f"   {f:13s} {v['precision']:5.2f} {v['recall']:5.2f} {v['f1']:5.2f} "
                  f"{v['support']:4d} {v['fp']:3d}\n")


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m probes.quality.devset.score")
    ap.add_argument("cases", nargs="?", default=str(CASES))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--profile", default=None)
    ap.add_argument("--failures", action="store_true", help="list every miss and false alarm")
    a = ap.parse_args(argv)
    cases = load_cases(Path(a.cases))
    res = predict(Path(a.cases), a.workers, a.profile)
    pred = {k: set(v.get("faults", [])) for k, v in res.items()}
    splits = list(dict.fromkeys(c["split"] for c in cases))
    for split in splits + (["all"] if len(splits) > 1 else []):
        sub = [c for c in cases if split == "all" or c["split"] == split]
        s = score(sub, pred)
        report(f"{split} ({len(sub)} cases)", s)
        if a.failures and split != "all":
            for line in s["failures"]:
                print("   ", line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
