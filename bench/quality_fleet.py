"""False alarms of the image-quality diagnosis on healthy cameras of the simulated fleet.

Every healthy camera is asked for two snapshots over HTTP Digest, as the frame tier does; the
second is diagnosed without a reference (a camera not yet accepted) and with the first as its
reference (an accepted camera). Peer, in the same run on the same frames: the published
thresholds of one commercial product as a rule of thumb (../shared/STANDARDS.md: mean
brightness < 30 or > 220, contrast std < 25). Usage: python -m bench.quality_fleet [DEVICES] [SEED]
"""
from __future__ import annotations

import collections
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

import cv2
import httpx
import numpy as np
import yaml

from probes.quality import Thresholds, diagnose
from simulator.testing import FleetProcess

ROOT = Path(__file__).resolve().parents[1]
NOON_LOCAL = dt.datetime(2026, 11, 26, 4, 0)  # 12:00 in Asia/Shanghai, stored as naive UTC


def _published_rule_flags(jpeg: bytes) -> bool:
    gray = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_GRAYSCALE)
    mean, std = float(gray.mean()), float(gray.std())
    return mean < 30 or mean > 220 or std < 25


def main(argv: list[str]) -> int:
    n = int(argv[0]) if argv else 150
    seed = int(argv[1]) if len(argv) > 1 else 7
    section = yaml.safe_load((ROOT / "supervisor/profiles/default-v1.yaml").read_text())
    thresholds = Thresholds.from_mapping(section["image_quality"])
    with tempfile.TemporaryDirectory() as tmp, FleetProcess(
            devices=n, seed=seed, base_address="127.70.0.1", control_port=19501, tmp_dir=tmp,
            onvif_port=8180, snmp_port=1961) as fleet:
        cams = [d for d in fleet.devices() if d["kind"] == "camera"]
        no_ref, with_ref, peer = collections.Counter(), collections.Counter(), 0
        flagged_no_ref = flagged_ref = 0
        spent = 0.0
        with httpx.Client(timeout=10) as client:
            for i, d in enumerate(cams, 1):
                url = f"http://{d['ip']}:{d['onvif_port']}/onvif/snapshot"
                auth = httpx.DigestAuth(d["username"], d["password"])
                first = client.get(url, auth=auth).content
                second = client.get(url, auth=auth).content
                t0 = time.process_time()
                a = diagnose(second, previous=first, captured_at=NOON_LOCAL, thresholds=thresholds)
                b = diagnose(second, previous=first, reference=first, captured_at=NOON_LOCAL,
                             thresholds=thresholds)
                spent += time.process_time() - t0
                no_ref.update(f.fault for f in a.faults)
                with_ref.update(f.fault for f in b.faults)
                flagged_no_ref += bool(a.faults)
                flagged_ref += bool(b.faults)
                peer += _published_rule_flags(second)
                print(f"\r{i}/{len(cams)} cameras", end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)
    total = len(cams)
    ours = flagged_no_ref / total
    print(f"healthy simulated cameras: {total} (fleet of {n}, seed {seed})")
    print(f"ours, no reference:   {flagged_no_ref}/{total} flagged = {ours:.1%}  {dict(no_ref)}")
    print(f"ours, with reference: {flagged_ref}/{total} flagged = {flagged_ref / total:.1%}  {dict(with_ref)}")
    print(f"peer (published brightness/contrast rule): {peer}/{total} = {peer / total:.1%}")
    print(f"false alarms ours/peer: {ours / (peer / total):.2f}" if peer else
          "false alarms ours/peer: peer raised none")
    print(f"CPU per camera (two diagnoses): {1000 * spent / total:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
