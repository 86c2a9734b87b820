"""A quality worker is one core's worth: neither OpenCV nor numpy's BLAS runs threads of
its own in it (OpenBLAS spun a second core through every diagnosis against a reference)."""
from __future__ import annotations

import subprocess
import sys

import cv2
import threadpoolctl

from probes.quality import QualityPool


def test_hold_to_one_core_limits_opencv_and_blas():
    code = ("import cv2, threadpoolctl\n"
            "from probes.quality.cores import hold_to_one_core\n"
            "hold_to_one_core()\n"
            "blas = [p['num_threads'] for p in threadpoolctl.threadpool_info() if p['user_api'] == 'blas']\n"
            "print(cv2.getNumThreads(), blas)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    threads, blas = out.stdout.split(" ", 1)
    assert int(threads) == 1
    assert blas.strip() != "[]" and set(eval(blas)) == {1}   # numpy's BLAS was found and held


def test_the_quality_pool_workers_hold_to_one_core():
    with QualityPool(workers=1) as pool:
        info = pool._pool.submit(threadpoolctl.threadpool_info).result(timeout=120)
        threads = pool._pool.submit(cv2.getNumThreads).result(timeout=60)
    assert threads == 1
    assert {p["num_threads"] for p in info if p["user_api"] == "blas"} == {1}
