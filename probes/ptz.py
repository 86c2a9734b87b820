"""Optional PTZ check: move a little, confirm the picture moved, move back.

Uses the ONVIF PTZ service (GetStatus, RelativeMove) through the shared ``OnvifPool``
and the snapshot grab for pictures. "Moved" is judged on small grey copies of the
frames: the mean absolute difference after the move must exceed ``min_change`` and the
picture after moving back must be closer to the first one than the moved one was.
Cameras without a PTZ service get an ``unsupported`` error, never an exception.
"""
from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any, Optional

from probes.errors import classify
from probes.model import DeviceTarget, ProbeError, PtzResult


def frame_change(a: Any, b: Any) -> float:
    """Mean absolute grey-level difference of two BGR frames, on 160x90 copies (0-255),
    after matching b's brightness and contrast to a's: auto-exposure and light change a
    still picture by several grey levels between captures, which must not read as a move."""
    import cv2
    import numpy as np
    ga = cv2.resize(cv2.cvtColor(a, cv2.COLOR_BGR2GRAY), (160, 90),
                    interpolation=cv2.INTER_AREA).astype(np.float32)
    gb = cv2.resize(cv2.cvtColor(b, cv2.COLOR_BGR2GRAY), (160, 90),
                    interpolation=cv2.INTER_AREA).astype(np.float32)
    sa, sb = float(ga.std()), float(gb.std())
    if sa > 1.0 and sb > 1.0:        # flat frames (signal loss) are compared as they are
        gb = (gb - float(gb.mean())) * (sa / sb) + float(ga.mean())
    return float(np.mean(np.abs(ga - gb)))


def _pan_tilt(status: Any) -> Optional[list[float]]:
    pt = getattr(getattr(status, "Position", None), "PanTilt", None)
    try:
        return [float(pt.x), float(pt.y)]
    except (AttributeError, TypeError, ValueError):
        return None


async def _settle(ptz: Any, token: str, limit_s: float) -> Any:
    """Poll GetStatus until the pan/tilt motor reports IDLE (bounded)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + limit_s
    status = await ptz.GetStatus(ProfileToken=token)
    while loop.time() < end:
        move = getattr(getattr(status, "MoveStatus", None), "PanTilt", None)
        if move is None or str(move).upper() == "IDLE":
            break
        await asyncio.sleep(0.1)
        status = await ptz.GetStatus(ProfileToken=token)
    return status


async def check_ptz(pool: Any, http: Any, target: DeviceTarget, ptz_xaddr: Optional[str],
                    profile_token: Optional[str], snapshot_url: Optional[str], *,
                    step: float = 0.05, min_change: float = 4.0, settle_s: float = 3.0,
                    frame_timeout: float = 5.0,
                    dt_diff: Optional[timedelta] = None) -> PtzResult:
    """Pan by ``step`` (ONVIF generic space, -1..1), compare frames, pan back.

    The caller bounds the whole check with its timeout; moving back is attempted even
    when the comparison fails, so a probe never leaves a camera turned away.
    """
    from probes.frame import grab_snapshot
    result = PtzResult(ok=False)
    if not ptz_xaddr or not profile_token:
        result.error = ProbeError("unsupported", "no PTZ service or media profile", "ptz")
        return result
    if not snapshot_url:
        result.error = ProbeError("unsupported", "no snapshot to compare", "ptz")
        return result
    moved_away = False
    ptz = None
    try:
        ptz = await pool.service("ptz", ptz_xaddr, target.username, target.password, dt_diff)
        before = await ptz.GetStatus(ProfileToken=profile_token)
        result.position_before = _pan_tilt(before)
        first = await grab_snapshot(http, snapshot_url, target.username, target.password,
                                    frame_timeout)
        if not first.ok:
            result.error = first.error
            return result
        await ptz.RelativeMove(ProfileToken=profile_token,
                               Translation={"PanTilt": {"x": step, "y": 0.0}})
        moved_away = True
        after = await _settle(ptz, profile_token, settle_s)
        result.position_after = _pan_tilt(after)
        moved = await grab_snapshot(http, snapshot_url, target.username, target.password,
                                    frame_timeout)
        await ptz.RelativeMove(ProfileToken=profile_token,
                               Translation={"PanTilt": {"x": -step, "y": 0.0}})
        moved_away = False
        await _settle(ptz, profile_token, settle_s)
        back = await grab_snapshot(http, snapshot_url, target.username, target.password,
                                   frame_timeout)
        if not (moved.ok and back.ok):
            result.error = (moved.error if not moved.ok else back.error)
            return result
        result.change_moved = round(frame_change(first.image, moved.image), 2)
        result.change_back = round(frame_change(first.image, back.image), 2)
        result.moved = result.change_moved >= min_change
        result.returned = result.change_back < result.change_moved / 2
        result.ok = bool(result.moved and result.returned)
        if not result.ok:
            what = "picture did not move" if not result.moved else "did not return"
            result.error = ProbeError("fault", f"PTZ {what} (change {result.change_moved}, "
                                      f"back {result.change_back})", "ptz")
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001
        result.error = classify(exc, "ptz")
    finally:
        if moved_away and ptz is not None:
            try:
                async with asyncio.timeout(2):
                    await ptz.RelativeMove(ProfileToken=profile_token,
                                           Translation={"PanTilt": {"x": -step, "y": 0.0}})
            except Exception:  # noqa: BLE001 - best effort; the error above says why
                pass
    return result
