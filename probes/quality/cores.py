"""Hold this process's image work to one core."""
from __future__ import annotations

_HELD = None


def hold_to_one_core() -> None:
    """OpenCV and numpy's BLAS each start a thread per core for large operations. A worker
    of the quality pool is one core's worth, and the pool is sized by the cores: their
    threads on top only compete. OpenBLAS also spins its threads while it waits, so a
    diagnosis against a reference took 65 ms of CPU for 33 ms of wall time (1080p, this
    machine) and nothing ran faster for it. Kept for the life of the process."""
    global _HELD
    import cv2
    from threadpoolctl import threadpool_limits

    cv2.setNumThreads(1)
    if _HELD is None:
        _HELD = threadpool_limits(limits=1)
