"""The shell (single frame and --batch JSONL) and the asyncio-awaitable process pool."""
from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from probes.quality import FrameError, QualityPool

from quality_helpers import jpeg

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "probes.quality", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def test_cli_json_shape(tmp_path, scene):
    f = tmp_path / "f.jpg"
    f.write_bytes(jpeg(scene))
    r = run(str(f), "--previous", str(f), "--json")
    assert r.returncode == 1, r.stderr  # 1: at least one fault (frozen)
    doc = json.loads(r.stdout)
    assert set(doc) >= {"ok", "faults", "measures", "night", "width", "height"}
    fz = [x for x in doc["faults"] if x["fault"] == "frozen"]
    assert fz and set(fz[0]) >= {"measure", "value", "threshold", "severity", "clause"}
    assert doc["measures"]["frozen"] == 1.0


def test_cli_corrupt_frame_exit_2(tmp_path, scene):
    f = tmp_path / "bad.jpg"
    f.write_bytes(jpeg(scene)[:500])
    r = run(str(f))
    assert r.returncode == 2 and "truncated" in r.stderr


def test_cli_batch(tmp_path, scene):
    (tmp_path / "a.jpg").write_bytes(jpeg(scene))
    (tmp_path / "bad.jpg").write_bytes(b"not an image")
    lines = [{"id": "one", "frame": "a.jpg", "previous": "a.jpg", "reference": None},
             {"id": "two", "frame": "bad.jpg", "previous": None, "reference": None},
             {"id": "three", "frame": "a.jpg", "previous": None, "reference": "a.jpg"}]
    cases = tmp_path / "cases.jsonl"
    cases.write_text("\n".join(json.dumps(x) for x in lines) + "\nnot json\n")
    r = run("--batch", str(cases), "--workers", "2")
    out = [json.loads(x) for x in r.stdout.splitlines()]
    assert [o["id"] for o in out] == ["one", "two", "three", "line4"]
    assert "frozen" in out[0]["faults"] and "measures" in out[0]
    assert "error" in out[1] and "error" in out[3]
    assert out[2]["faults"] == [] and out[2]["measures"]["scene_similarity"] > 0.9
    assert "4/4 cases" in r.stderr
    assert r.returncode == 1  # some cases were errors


def test_pool_does_not_block_the_event_loop(scene):
    async def main() -> tuple[list[dict], int]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.005)
                ticks += 1

        t = asyncio.create_task(ticker())
        with QualityPool(workers=2) as pool:
            frames = [jpeg(scene)] * 6
            results = await asyncio.wait_for(
                asyncio.gather(*(pool.diagnose(f, previous=f) for f in frames)), 60)
            with pytest.raises(FrameError):
                await asyncio.wait_for(pool.diagnose(b"garbage"), 30)
        t.cancel()
        return results, ticks

    results, ticks = asyncio.run(main())
    assert all("frozen" in [f["fault"] for f in r["faults"]] for r in results)
    assert ticks > 3  # the loop kept running while workers judged pixels


_CHURN = """
import platform, resource, sys
import numpy as np
from probes.quality.pool import keep_freed_memory
if platform.libc_ver()[0] != "glibc":
    print("not glibc"); sys.exit(0)
print(keep_freed_memory() if sys.argv[1] == "keep" else "default")
def churn():
    # a frame's pattern: arrays of a few MB kept while smaller ones come and go, then freed
    big = np.ones(6_000_000, np.uint8)
    parts = [np.ones(700_000, np.float32) for _ in range(6)]
    del parts
    more = np.ones(2_000_000, np.float32)
    del big, more
churn(); churn()
f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    churn()
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0) // 10)
"""


def test_workers_keep_freed_memory():
    """A worker (``keep_freed_memory``, called at its start) reuses the memory its frames
    free: the same allocations again fault no pages in, where glibc's default gives the top
    of the heap back and faults them in every time (each in a fresh process)."""
    def run(mode: str) -> list[str]:
        out = subprocess.run([sys.executable, "-c", _CHURN, mode], capture_output=True, text=True,
                             cwd=Path(__file__).resolve().parents[2], check=True)
        return out.stdout.split()
    default = run("default")
    if default == ["not", "glibc"]:
        pytest.skip("keep_freed_memory sets glibc's allocator only")
    keep = run("keep")
    assert keep[0] == "True"
    assert int(keep[1]) < 50 <= int(default[1]), (default, keep)
