"""The acceptance reference, prepared once and kept: per process, by content.

Judging a frame against its camera's reference needs the reference decoded, brought to
the frame's analysis size, its burned-in text filled in, and read on its own (noise,
sharpness, blocks, colour, spectrum, edge map): about as much work as judging the frame.
A sweep judges camera after camera, each against its own reference, and the next sweep
the same cameras again; so each process (an in-process caller, each ``QualityPool``
worker) keeps the prepared references it has used, keyed by a hash of the reference's
content (encoded bytes as handed in, or the array's pixels) and the analysis size, least
recently used first out, within a budget in bytes.
"""
from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Hashable, Optional

import numpy as np

from probes.quality import measures as M
from probes.quality.frame import FrameError, FrameLike, decode_bytes, load_frame, read_frame_file

# A kept reference holds analysis-size data only (~2.7 MB at 640x360: the gray and colour
# copies and its readings): 64 MiB keeps about two dozen per process.
DEFAULT_MAX_BYTES = 64 * 1024 * 1024


def _digest(data: Any) -> bytes:
    return hashlib.sha256(data).digest()


def _source(src: FrameLike) -> tuple[bytes, Any]:
    """(content hash, what ``load_frame`` decodes: the bytes read, or the input itself)."""
    if isinstance(src, np.ndarray):
        a = np.ascontiguousarray(src)
        head = f"{a.dtype.str}{a.shape}".encode()
        return _digest(head + _digest(memoryview(a).cast("B"))), src
    if isinstance(src, (bytes, bytearray, memoryview)):
        data = bytes(src)
        return _digest(data), data
    if isinstance(src, (str, os.PathLike)):
        path = Path(src)
        data = read_frame_file(path)
        return _digest(data), (path, data)
    raise FrameError(f"frame must be an array, bytes or a path, not {type(src).__name__}")


def _decode(loaded: Any) -> np.ndarray:
    if isinstance(loaded, tuple):  # a file: decoded as load_frame would, same messages
        path, data = loaded
        try:
            return decode_bytes(data)
        except FrameError as exc:
            raise FrameError(f"{path}: {exc}") from None
    return load_frame(loaded)


def _nbytes(r: M.Prepared) -> int:
    arrays: list[Any] = [r.small_bgr, r.small, r.osd, r.bgr, r.gray]
    stack = list((r.readings or {}).values())
    while stack:  # readings are floats, arrays, and tuples or dicts of them
        v = stack.pop()
        if isinstance(v, (tuple, list)):
            stack.extend(v)
        elif isinstance(v, dict):
            stack.extend(v.values())
        else:
            arrays.append(v)
    return sum(int(a.nbytes) for a in arrays if isinstance(a, np.ndarray))


class ReferenceCache:
    """Prepared references by (content hash, analysis size), least recently used out.

    The bound is ``max_bytes`` of kept data; a reference's readings are filled in while
    the first frame is judged against it, so its size is counted again at the next call
    (the budget can be exceeded by that one reference's readings until then). The newest
    reference is always kept, whatever its size. Thread-safe.
    """

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_bytes = max(0, int(max_bytes))
        self._items: OrderedDict[Hashable, M.Prepared] = OrderedDict()
        self._sizes: dict[Hashable, int] = {}
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def prepared(self, reference: FrameLike, like: M.Prepared) -> M.Prepared:
        """``reference`` prepared for frames like ``like`` (raises ``FrameError`` when it
        cannot be read, as ``load_frame``)."""
        digest, loaded = _source(reference)
        key = (digest, like.small.shape, like.scale)
        with self._lock:
            self._recount()
            r = self._items.get(key)
            if r is not None:
                self._items.move_to_end(key)
                self.hits += 1
                return r
        r = M.prepare_reference(_decode(loaded), like)
        with self._lock:
            self.misses += 1
            self._items[key] = r
            self._items.move_to_end(key)
            self._sizes[key] = _nbytes(r)
            self._evict()
        return r

    def _recount(self) -> None:
        # the most recently used reference may have gained readings since it was counted
        if self._items:
            last = next(reversed(self._items))
            self._sizes[last] = _nbytes(self._items[last])
            self._evict()

    def _evict(self) -> None:
        while len(self._items) > 1 and sum(self._sizes.values()) > self.max_bytes:
            old, _ = self._items.popitem(last=False)
            del self._sizes[old]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._sizes.clear()

    def __len__(self) -> int:
        return len(self._items)

    @property
    def nbytes(self) -> int:
        with self._lock:
            self._recount()
            return sum(self._sizes.values())


_CACHE: Optional[ReferenceCache] = None


def reference_cache() -> ReferenceCache:
    """This process's cache of prepared references (made on first use)."""
    global _CACHE
    if _CACHE is None:
        _CACHE = ReferenceCache()
    return _CACHE


def set_reference_cache(max_bytes: int) -> ReferenceCache:
    """Replace this process's cache by an empty one of ``max_bytes`` (0: keep only the
    reference in use)."""
    global _CACHE
    _CACHE = ReferenceCache(max_bytes)
    return _CACHE
