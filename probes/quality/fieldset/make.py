"""Build the field set: ``python -m probes.quality.fieldset.make [OUT_DIR] [--seed N] [--scale F]``.

A second labelled set of frames, made independently of the development set
(probes/quality/devset): other pictures (procedurally rendered streets, courtyards, warm
interiors, car parks, sky-filled views, parks, and scikit-learn's two photographs), another
camera model (light and auto-exposure, white balance, lens, sensor noise, tone curve, OSD,
JPEG; see camera.py) and other fault models (faults.py). Deterministic for a seed.

Writes ``cases.jsonl`` (the development set's format, split ``field``) and JPEG frames.
``ensure(seed, scale)`` builds once into a gitignored cache folder and returns the path of
its cases file.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any, Optional

import numpy as np

from probes.quality.fieldset import camera as C
from probes.quality.fieldset import faults as F
from probes.quality.fieldset.scenes import KINDS, Scene, render

HERE = Path(__file__).resolve().parent
CACHE = HERE / "build"
SEED = 20261206
# Size of the set as built by default: 2.5 x (144 clean, 12 per fault) = 360 clean frames and
# 30 cases per fault (690). At 12 per fault one case moves a fault's recall by 8 points and
# the macro-F1 moved by 2-3 points between draws; at 30 the per-fault figures mean more.
SCALE = 2.5
VERSION = 6  # bump when the generator changes: cached builds are keyed by it

DAY = "2026-06-01T11:00:00+08:00"
DUSK = "2026-06-01T18:40:00+08:00"
NIGHT = "2026-06-01T23:30:00+08:00"
SIZES = [(640, 360), (704, 576), (800, 450), (960, 540), (640, 480), (1280, 720)]

# What a fault physically brings along: neither required nor a false alarm.
ALLOW = {
    "occlusion": ["too_dark", "low_contrast", "blur", "signal_loss", "too_bright"],
    "too_dark": ["low_contrast", "noise", "blur", "occlusion"],
    "too_bright": ["low_contrast", "blur"],
    "low_contrast": ["too_bright", "blur"],
    "blur": ["low_contrast"],
    "noise": [],
    "stripes": [],
    "color_cast": [],
    "signal_loss": [],
    "frozen": [],
    "scene_change": [],
}
# clean variations: (scene kinds, light, weather)
CLEAN_PLAN = [
    (("street", "courtyard", "sky", "park"), "day", None),
    (("street", "courtyard", "sky", "park"), "overcast", None),
    (("interior", "garage"), "indoor", None),
    (("street", "courtyard", "park"), "dusk", None),
    (("street", "courtyard", "park", "garage"), "night", None),
    (("street", "courtyard", "park"), "ir", None),
    (("street", "courtyard", "sky"), "day", "rain"),
    (("street", "courtyard", "park"), "overcast", "snow"),
    (("street", "park"), "day", "fog"),
    (("photo_china", "photo_flower"), "day", None),
    (("interior",), "indoor", None),
    (("sky",), "day", None),
    (("street", "courtyard", "sky"), "day", "backlit"),
]


def _when(light: str) -> str:
    return {"dusk": DUSK, "night": NIGHT, "ir": NIGHT}.get(light, DAY)


def _nudge(scene: Scene, rng: np.random.Generator) -> Scene:
    """The same view a little later: something small moved (a person, a car)."""
    alb = scene.albedo.copy()
    h, w = alb.shape[:2]
    ph, pw = h // 8, w // 12
    y0, x0 = int(rng.integers(h // 2, h - ph)), int(rng.integers(0, w - pw))
    alb[y0:y0 + ph, x0:x0 + pw] = np.roll(alb[y0:y0 + ph, x0:x0 + pw], pw // 3, axis=1)
    return Scene(scene.kind, alb, scene.sky, scene.lamps, scene.windows, scene.indoor)


class Writer:
    def __init__(self, out: Path):
        self.out = out
        self.cases: list[dict[str, Any]] = []
        (out / "frames").mkdir(parents=True, exist_ok=True)

    def save(self, name: str, data: bytes) -> str:
        p = self.out / "frames" / f"{name}.jpg"
        p.write_bytes(data)
        return f"frames/{p.name}"

    def case(self, variant: str, frame: str, labels: list[str], when: str, previous: Optional[str] = None,
             reference: Optional[str] = None, allow: list[str] | tuple = ()) -> None:
        self.cases.append({"id": f"field-{len(self.cases) + 1:04d}", "frame": frame, "previous": previous,
                           "reference": reference, "captured_at": when, "labels": sorted(labels),
                           "allow": sorted(set(allow)), "split": "field", "variant": variant})


def _shot(scene, light_kind, cam, rng, faults=C.Faults(), weather=None, when=DAY) -> np.ndarray:
    light = C.light_for(light_kind, scene, rng)
    if weather == "backlit":
        # exposed for the foreground against a bright sky, as most street cameras are: the
        # sky burns out, the rest is well exposed (not a fault)
        faults = C.Faults(exposure=float(rng.uniform(1.5, 2.0)))
        weather = None
    img = C.shoot(scene, light, cam, rng, faults, when)
    if weather:
        img = C.weather(weather, img, rng)
    return img


def _reference(scene, cam, rng) -> bytes:
    """The acceptance reference: the same view on another day (day or overcast light)."""
    light = "indoor" if scene.indoor else ("day" if rng.random() < 0.6 else "overcast")
    return C.encode(_shot(scene, light, cam, rng, when=DAY), 85)


SMALL_SIZES = [(640, 360), (512, 288), (640, 480)]


def build(out: Path, seed: int = SEED, scale: float = SCALE, small: bool = False) -> Path:
    """Write the set into ``out`` (emptied first); returns the cases file. ``small``: only
    frames up to 640 px wide (quick sets for tests)."""
    sizes = SMALL_SIZES if small else SIZES
    if (out / "frames").exists():
        shutil.rmtree(out / "frames")
    rng = np.random.default_rng(seed)
    wr = Writer(out)
    n_clean = max(12, int(round(144 * scale)))
    n_fault = max(2, int(round(12 * scale)))

    def new_view(kinds=KINDS, size=None):
        kind = kinds[int(rng.integers(len(kinds)))]
        w, h = size or sizes[int(rng.integers(len(sizes)))]
        return render(kind, rng, w, h), C.Camera.random(rng)

    # clean frames
    for i in range(n_clean):
        kinds, light, weather = CLEAN_PLAN[i % len(CLEAN_PLAN)]
        scene, cam = new_view(kinds)
        when = _when(light)
        img = _shot(scene, light, cam, rng, weather=weather, when=when)
        tag = f"clean_{i:03d}"
        frame = wr.save(tag, C.encode(img, cam.quality))
        prev = ref = None
        if rng.random() < 0.5:
            pimg = _shot(_nudge(scene, rng), light, cam, rng, weather=weather, when=when)
            prev = wr.save(tag + "_prev", C.encode(pimg, cam.quality))
        if rng.random() < 0.5:
            ref = wr.save(tag + "_ref", _reference(scene, cam, rng))
        wr.case(f"clean:{scene.kind}:{light}:{weather or '-'}", frame, [], when, prev, ref)

    # faults made in the camera
    outdoor_day = ("street", "courtyard", "sky", "park", "photo_china", "photo_flower", "interior", "garage")
    for fault in ("blur", "too_dark", "too_bright", "low_contrast", "color_cast", "noise", "stripes", "occlusion"):
        for i in range(n_fault):
            scene, cam = new_view(outdoor_day)
            light = "indoor" if scene.indoor else ("day" if rng.random() < 0.7 else "overcast")
            if fault == "noise" and rng.random() < 0.5 and not scene.indoor:
                light = "dusk"
            when = _when(light)
            hooks, desc = F.fault_for(fault, rng, scene.albedo.shape[1])
            img = _shot(scene, light, cam, rng, hooks, when=when)
            tag = f"{fault}_{i:02d}"
            frame = wr.save(tag, C.encode(img, cam.quality))
            p_ref = {"occlusion": 0.3}.get(fault, 0.5)
            ref = wr.save(tag + "_ref", _reference(scene, cam, rng)) if rng.random() < p_ref else None
            allow = list(ALLOW[fault]) + (["scene_change"] if ref else [])
            wr.case(f"{fault}:{desc}:{scene.kind}:{light}", frame, [fault], when, None, ref, allow)

    # the encoder's no-signal screens
    for i in range(n_fault):
        w, h = sizes[int(rng.integers(len(sizes)))]
        cam = C.Camera.random(rng)
        data, desc = F.no_signal_screen(rng, w, h, cam, DAY if i % 3 else NIGHT)
        ref = None
        if rng.random() < 0.4:
            scene = render(KINDS[int(rng.integers(6))], rng, w, h)
            ref = wr.save(f"signal_loss_{i:02d}_ref", _reference(scene, cam, rng))
        wr.case(f"signal_loss:{desc}", wr.save(f"signal_loss_{i:02d}", data), ["signal_loss"],
                DAY if i % 3 else NIGHT, None, ref, ["scene_change"] if ref else [])

    # frozen: the encoder re-sends one picture; only its clock ticks
    for i in range(n_fault):
        kinds, light, weather = CLEAN_PLAN[(i * 5) % len(CLEAN_PLAN)]
        scene, cam = new_view(kinds)
        if cam.osd == "none" and i % 2:
            cam.osd = "latin"
        when = _when(light)
        light_o = C.light_for(light, scene, rng)
        rng_a = np.random.default_rng(int(rng.integers(1 << 30)))
        cam_rng = np.random.default_rng(int(rng.integers(1 << 30)))
        base = C.shoot(scene, light_o, C.Camera(**{**cam.__dict__, "osd": "none"}), rng_a, C.Faults(), when)
        if weather and weather != "backlit":
            base = C.weather(weather, base, rng_a)
        prev = C.burn_osd(base, cam, when, cam_rng)
        now = C.burn_osd(base, cam, when, cam_rng)
        wr.case(f"frozen:{scene.kind}:{light}", wr.save(f"frozen_{i:02d}", C.encode(now, cam.quality)),
                ["frozen"], when, wr.save(f"frozen_{i:02d}_prev", C.encode(prev, cam.quality)), None)

    # scene change: the camera was knocked or turned since acceptance
    for i in range(n_fault):
        w, h = sizes[int(rng.integers(len(sizes)))]
        scene, cam = new_view(("street", "courtyard", "park", "interior", "garage", "sky"), (w, h))
        ref = wr.save(f"scene_change_{i:02d}_ref", _reference(scene, cam, rng))
        how = ["other_view", "turned", "tilted"][i % 3]
        if how == "other_view":
            other = render(scene.kind if rng.random() < 0.5 else "street", rng, w, h)
        else:
            alb = scene.albedo
            if how == "turned":  # panned by 35-60 % of the view: new ground comes in mirrored
                dx = int(w * rng.uniform(0.35, 0.6))
                alb = np.concatenate([alb[:, dx:], alb[:, :dx][:, ::-1]], axis=1)
                sky = np.concatenate([scene.sky[:, dx:], scene.sky[:, :dx][:, ::-1]], axis=1)
            else:  # knocked down: looking at the ground, rotated
                import cv2

                M = cv2.getRotationMatrix2D((w / 2, h / 2), float(rng.uniform(12, 30)) * (1 if rng.random() < .5 else -1), 1.3)
                alb = cv2.warpAffine(alb, M, (w, h), borderMode=cv2.BORDER_REFLECT)
                sky = cv2.warpAffine(scene.sky.astype(np.uint8), M, (w, h), borderMode=cv2.BORDER_REFLECT) > 0
            other = Scene(scene.kind, np.ascontiguousarray(alb), np.ascontiguousarray(sky), [], None, scene.indoor)
        light = "indoor" if other.indoor else "day"
        img = _shot(other, light, cam, rng)
        wr.case(f"scene_change:{how}:{scene.kind}", wr.save(f"scene_change_{i:02d}", C.encode(img, cam.quality)),
                ["scene_change"], DAY, None, ref)

    cases = out / "cases.jsonl"
    with open(cases, "w", encoding="utf-8") as fh:
        for c in wr.cases:
            fh.write(json.dumps(c, ensure_ascii=False) + "\n")
    return cases


def ensure(seed: int = SEED, scale: float = SCALE, root: Path = CACHE) -> Path:
    """The cases file of the set for (seed, scale), built on first use and kept."""
    out = root / f"v{VERSION}-seed{seed}-x{scale:g}"
    cases = out / "cases.jsonl"
    if not cases.exists():
        tmp = out.with_name(out.name + ".part")
        if tmp.exists():
            shutil.rmtree(tmp)
        build(tmp, seed, scale)
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    return cases


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m probes.quality.fieldset.make")
    ap.add_argument("out", nargs="?", default=None, help="folder (default: the cache folder)")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--scale", type=float, default=SCALE,
                    help=f"multiple of (144 clean, 12 per fault); default {SCALE}")
    a = ap.parse_args(argv)
    if a.out:
        path = build(Path(a.out), a.seed, a.scale)
    else:
        path = ensure(a.seed, a.scale)
    n = sum(1 for _ in open(path, encoding="utf-8"))
    print(f"{n} cases -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
