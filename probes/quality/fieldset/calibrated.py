"""Covers on cameras without a reference that learned their normal view (the field set's
camera and cover models; ``probes.quality.calibration``).

``python -m probes.quality.fieldset.calibrated [--cameras N] [--seed S] [--workers W]``: each
camera is one view of the field set's scene kinds (in turn) seen by one random camera. It
learns from 14 clean frames under day and overcast light, as the platform learns from a
camera's first clean days; then 6 clean frames (day, overcast and dusk light) and 6 frames
with a cover of the field set's kinds (a third to nine tenths of the view) are judged against
what it learned. Prints per scene kind and in all: clean frames raised, covers found.
"""
from __future__ import annotations

import argparse
import collections
import datetime as dt
from multiprocessing import Pool
from typing import Any

import numpy as np

from probes.quality import Thresholds, diagnose, learn
from probes.quality.calibration import STRUCTURE_KEY
from probes.quality.fieldset import camera as C
from probes.quality.fieldset.faults import COVER_KINDS, cover
from probes.quality.fieldset.scenes import KINDS, render

DAY = dt.datetime.fromisoformat("2026-06-01T11:00:00+08:00")
LEARN_FRAMES = 14
JUDGED = 6


def _shot(scene, cam, rng, light: str, faults: C.Faults = C.Faults()) -> bytes:
    lit = C.light_for(light, scene, rng)
    return C.encode(C.shoot(scene, lit, cam, rng, faults), int(rng.integers(60, 90)))


def one_camera(args: tuple[int, int]) -> dict[str, Any]:
    """Learn one camera, then judge its clean and covered frames."""
    index, seed = args
    th = Thresholds.default()
    rng = np.random.default_rng(seed + index)
    kind = KINDS[index % len(KINDS)]
    scene = render(kind, rng, 1280, 720)
    cam = C.Camera.random(rng)
    frames = []
    for k in range(LEARN_FRAMES):
        d = diagnose(_shot(scene, cam, rng, ("day", "overcast")[k % 2]), thresholds=th,
                     captured_at=DAY, keep_structure=True)
        if d.ok:
            frames.append(({**d.measures, STRUCTURE_KEY: d.extra[STRUCTURE_KEY]}, d.night))
    cal = learn(frames)
    out: dict[str, Any] = {"kind": kind, "learned": cal.day is not None and cal.day.structure is not None,
                           "raised": [], "found": [], "covers": []}
    if not out["learned"]:
        return out
    for k in range(JUDGED):
        d = diagnose(_shot(scene, cam, rng, ("day", "overcast", "dusk")[k % 3]), thresholds=th,
                     captured_at=DAY, calibration=cal)
        out["raised"].append([f.rule for f in d.faults])
        what, share = COVER_KINDS[int(rng.integers(len(COVER_KINDS)))], float(rng.uniform(0.33, 0.9))
        faults = C.Faults(in_front=cover(what, share, int(rng.integers(1 << 30))))
        d = diagnose(_shot(scene, cam, rng, ("day", "overcast")[k % 2], faults), thresholds=th,
                     captured_at=DAY, calibration=cal)
        out["found"].append("occlusion" in d.fault_names)
        out["covers"].append((what, round(share, 2), d.measures.get("cover_vs_normal")))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cameras", type=int, default=16)
    ap.add_argument("--seed", type=int, default=900)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args(argv)
    per: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    with Pool(a.workers) as pool:
        for i, r in enumerate(pool.imap(one_camera, [(i, a.seed) for i in range(a.cameras)]), 1):
            c = per[r["kind"]]
            c["cameras"] += 1
            c["unlearned"] += not r["learned"]
            c["clean"] += len(r["raised"])
            c["raised"] += sum(bool(x) for x in r["raised"])
            c["covers"] += len(r["found"])
            c["found"] += sum(r["found"])
            print(f"  camera {i}/{a.cameras} ({r['kind']}) done", flush=True)
    total: collections.Counter = collections.Counter()
    print(f"{'scene':14} {'cameras':>7} {'clean raised':>14} {'covers found':>14}")
    for kind in sorted(per):
        c = per[kind]
        total.update(c)
        print(f"{kind:14} {c['cameras']:7d} {c['raised']:6d}/{c['clean']:<7d} {c['found']:6d}/{c['covers']:<7d}")
    print(f"{'all':14} {total['cameras']:7d} {total['raised']:6d}/{total['clean']:<7d} "
          f"{total['found']:6d}/{total['covers']:<7d}  (cameras that learned no structure: {total['unlearned']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
