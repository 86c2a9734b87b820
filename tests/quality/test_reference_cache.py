"""The acceptance reference, prepared once per process and kept (probes.quality.reference):
judging against a kept reference gives exactly what a fresh preparation gives, the cache
is keyed by content, and it stays within its budget."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from probes.quality import FrameError, measure_all
from probes.quality import measures as M
from probes.quality.reference import ReferenceCache, reference_cache

from quality_helpers import jpeg


def _fresh(frame: np.ndarray, previous: np.ndarray, reference: np.ndarray) -> dict:
    """measure_all with a reference this process has never seen (cache emptied)."""
    reference_cache().clear()
    return measure_all(frame, previous, reference)


def _same(a: dict, b: dict) -> bool:
    """The same measures, to rounding: OpenCV's cv2.magnitude rounds the last bit of a
    float32 differently from one call to the next on the same input (its vector and scalar
    paths split the array where its buffer's alignment falls), which reaches the phase
    correlation of scene_change at ~1e-8 relative, kept reference or not (and ~1e-8 px
    absolute on a shift near 0 px, such as a reference rolled sideways only)."""
    return a.keys() == b.keys() and all(
        a[k] == b[k] or (a[k] is not None and b[k] is not None and a[k] == pytest.approx(b[k], rel=1e-6, abs=1e-6))
        for k in a)


def test_a_kept_reference_gives_exactly_the_fresh_values(scene):
    frame = np.clip(scene.astype(np.int16) + 3, 0, 255).astype(np.uint8)
    ref = np.roll(scene, 4, axis=1)
    cold = _fresh(frame, scene, ref)
    cache = reference_cache()
    hits = cache.hits
    warm = measure_all(frame, scene, ref)
    assert cache.hits == hits + 1  # the second frame reused the prepared reference
    assert _same(warm, cold)  # every measure
    # the same content as bytes, as a file's bytes and as an array: one entry, same values
    data = jpeg(ref)
    by_bytes = _fresh(frame, scene, data)
    assert _same(measure_all(frame, scene, data), by_bytes)
    assert _same(by_bytes, measure_all(frame, scene, cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)))
    assert not _same(by_bytes, cold)  # (the JPEG round trip moved the reference: a real comparison)


def test_a_kept_reference_holds_no_full_resolution_copy(scene):
    p = M.prepare(scene)
    r = ReferenceCache().prepared(scene, p)
    assert r.bgr is None and r.gray is None and "impulse_share" in r.readings


def test_keyed_by_content_and_analysis_size(scene):
    cache = ReferenceCache()
    p = M.prepare(scene)
    a = cache.prepared(scene, p)
    assert cache.prepared(scene.copy(), p) is a  # same pixels, another array: a hit
    changed = scene.copy()
    changed[0, 0, 0] ^= 1  # one level of one pixel: another reference
    assert cache.prepared(changed, p) is not a
    small = M.prepare(cv2.resize(scene, (320, 180), interpolation=cv2.INTER_AREA))
    assert cache.prepared(scene, small).small.shape == small.small.shape
    assert (cache.hits, cache.misses) == (1, 3)


def test_bounded_in_bytes_least_recently_used_out(scene):
    p = M.prepare(scene)
    one = ReferenceCache().prepared(scene, p)
    size = one.small.nbytes + one.small_bgr.nbytes
    cache = ReferenceCache(max_bytes=int(2.5 * size))
    refs = [np.roll(scene, k, axis=0) for k in range(4)]
    for r in refs:
        cache.prepared(r, p)
    assert len(cache) == 2 and cache.nbytes <= cache.max_bytes
    cache.prepared(refs[3], p)  # the newest is kept
    assert cache.hits == 1
    cache.prepared(refs[0], p)  # the oldest was let go
    assert cache.misses == 5


def test_an_unreadable_reference_raises_frame_error(scene, tmp_path):
    with pytest.raises(FrameError):
        measure_all(scene, None, jpeg(scene)[:400])
    with pytest.raises(FrameError, match="cannot read"):
        measure_all(scene, None, tmp_path / "missing.jpg")
