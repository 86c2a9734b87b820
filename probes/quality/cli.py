"""The shell: ``python -m probes.quality FRAME [...]`` and ``--batch CASES.jsonl``."""
from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator, Optional, TextIO

from probes.quality.diagnose import diagnose
from probes.quality.frame import FrameError
from probes.quality.thresholds import DEFAULT_PROFILE, Thresholds

_TH: Optional[Thresholds] = None


def _parse_time(text: Optional[str]) -> Optional[datetime]:
    if not text:
        return None
    try:
        return datetime.fromisoformat(str(text))
    except ValueError:
        raise ValueError(f"captured_at: not an ISO time: {text!r}") from None


def _init(profile: str) -> None:
    global _TH
    from probes.quality.cores import hold_to_one_core

    hold_to_one_core()  # one worker = one core
    _TH = Thresholds.from_yaml(profile)


def run_case(case: dict[str, Any], base: str) -> dict[str, Any]:
    """One batch line -> one result line. Never raises: errors are reported in the line."""
    th = _TH or Thresholds.default()
    cid = case.get("id")
    try:
        def path(key: str) -> Optional[str]:
            v = case.get(key)
            if v is None:
                return None
            if not isinstance(v, str) or not v:
                raise ValueError(f"{key}: must be a path or null")
            return str(Path(base) / v)

        frame = path("frame")
        if frame is None:
            raise ValueError("frame: required")
        d = diagnose(frame, path("previous"), path("reference"), th, _parse_time(case.get("captured_at")))
    except (FrameError, ValueError, OSError) as exc:
        return {"id": cid, "error": str(exc), "faults": [], "measures": {}}
    out = d.as_dict()
    return {"id": cid, "faults": d.fault_names, "measures": out["measures"],
            "evidence": out["faults"], "night": d.night}


def _read_cases(path: Path) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            line = line.strip()
            if not line:
                continue
            try:
                case = json.loads(line)
                if not isinstance(case, dict):
                    raise ValueError("not an object")
            except ValueError as exc:
                case = {"id": f"line{n}", "_error": f"line {n}: bad JSON: {exc}"}
            yield case


def run_batch(cases_path: Path, workers: int, profile: str, out: TextIO = sys.stdout,
              err: TextIO = sys.stderr) -> int:
    """Diagnose every case (in input order) with ``workers`` processes; returns #errors."""
    cases = list(_read_cases(cases_path))
    base = str(cases_path.resolve().parent)
    bad = 0
    t0 = time.monotonic()
    todo = [c for c in cases if "_error" not in c]

    def emit(i: int, res: dict[str, Any]) -> None:
        nonlocal bad
        bad += "error" in res
        out.write(json.dumps(res) + "\n")
        if i % 25 == 0 or i == len(cases):
            rate = i / max(1e-6, time.monotonic() - t0)
            err.write(f"\r{i}/{len(cases)} cases, {rate:.1f}/s, {bad} errors")
            err.flush()

    results: dict[int, dict[str, Any]] = {}
    if workers <= 1:
        _init(profile)
        it = (run_case(c, base) for c in todo)
    else:
        # spawn: forking after OpenCV has run can deadlock the child (see pool.py)
        pool = ProcessPoolExecutor(max_workers=workers, initializer=_init, initargs=(profile,),
                                   mp_context=multiprocessing.get_context("spawn"))
        it = pool.map(run_case, todo, [base] * len(todo), chunksize=4)
    done = iter(it)
    i = 0
    for case in cases:
        i += 1
        if "_error" in case:
            res = {"id": case["id"], "error": case["_error"], "faults": [], "measures": {}}
        else:
            res = next(done)
        results[i] = res
        emit(i, res)
    if workers > 1:
        pool.shutdown()
    err.write("\n")
    return bad


def _print_human(d: Any, out: TextIO) -> None:
    if d.ok:
        out.write("ok: no fault\n")
    for f in d.faults:
        sign = "<" if f.op == "below" else ">"
        out.write(f"{f.fault:13s} {f.severity:8s} {f.measure} = {f.value:.3f} {sign} {f.threshold:g}"
                  f"  ({f.clause})\n")
    out.write(f"night thresholds: {'yes' if d.night else 'no'}; frame {d.size[0]}x{d.size[1]}\n")
    out.write("measures: " + ", ".join(f"{k}={'-' if v is None else f'{v:.3f}'}"
                                       for k, v in d.measures.items()) + "\n")


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m probes.quality",
                                 description="Diagnose camera frames (image-quality faults).")
    ap.add_argument("frame", nargs="?", help="frame file (JPEG/PNG)")
    ap.add_argument("--previous", help="previous frame of the same camera (enables frozen)")
    ap.add_argument("--reference", help="reference frame kept at acceptance (enables scene_change)")
    ap.add_argument("--captured-at", help="ISO capture time, naive = UTC (picks day or night thresholds)")
    ap.add_argument("--json", action="store_true", help="print the diagnosis as JSON")
    ap.add_argument("--profile", default=str(DEFAULT_PROFILE),
                    help="profile YAML holding an image_quality section (default: %(default)s)")
    ap.add_argument("--overrides", help="per-camera overrides as a JSON object")
    ap.add_argument("--batch", help="JSONL of cases {id, frame, previous, reference[, captured_at]}")
    ap.add_argument("--workers", type=int, default=1, help="processes for --batch")
    a = ap.parse_args(argv)
    try:
        if a.batch:
            if a.frame:
                ap.error("give either FRAME or --batch")
            bad = run_batch(Path(a.batch), max(1, a.workers), a.profile)
            return 1 if bad else 0
        if not a.frame:
            ap.error("FRAME or --batch is required")
        overrides = json.loads(a.overrides) if a.overrides else None
        th = Thresholds.from_yaml(a.profile, overrides)
        d = diagnose(a.frame, a.previous, a.reference, th, _parse_time(a.captured_at))
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (FrameError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if a.json:
        print(json.dumps(d.as_dict(), indent=2))
    else:
        _print_human(d, sys.stdout)
    return 1 if d.faults else 0
