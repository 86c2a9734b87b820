"""RTSP for a few cameras (``--rtsp N``): starts ``rtsp_helper.py`` (gst-rtsp-server under
the system python3) and keeps each streaming camera's current picture in a JPEG file that
the helper re-reads for every frame. The picture is rendered like a snapshot (scene,
natural variation, picture faults, PTZ position) once a second.

Limits: the helper's sockets do not follow reachability faults (the RTSP port of an
offline camera still answers), and `frozen` freezes the stream only as far as snapshots
are frozen (the same bytes are written again).
"""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from . import frames
from .faults import PICTURE_FAULTS, DeviceState

SYSTEM_PYTHON = "/usr/bin/python3"
HELPER = Path(__file__).with_name("rtsp_helper.py")
REFRESH_S = 1.0


class RtspUnavailable(RuntimeError):
    """gst-rtsp-server (python3-gi, gir1.2-gst-rtsp-server-1.0) is not installed."""


class RtspStreams:
    def __init__(self, cameras: list[DeviceState], port: int, pool) -> None:
        self.cameras = cameras
        self.port = port
        self.pool = pool
        self.dir = Path(tempfile.mkdtemp(prefix="fsp-sim-rtsp-"))
        self.proc: subprocess.Popen | None = None
        self._task: asyncio.Task | None = None

    def frame_path(self, st: DeviceState) -> Path:
        return self.dir / f"{st.spec.serial}.jpg"

    def _render(self, st: DeviceState, now: float) -> bytes:
        if "frozen" in st.faults and st.frozen_jpeg is not None:
            return st.frozen_jpeg
        faults = {f for f in st.faults if f in PICTURE_FAULTS}
        return frames.render_jpeg(st.spec.scene, st.spec.alt_scene, faults, now, 85,
                                  st.view_position(now), st.tint)

    def _write(self, st: DeviceState, jpeg: bytes) -> None:
        path = self.frame_path(st)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(jpeg)
        os.replace(tmp, path)      # the helper never reads half a file

    async def start(self) -> None:
        check = subprocess.run([SYSTEM_PYTHON, "-c", "import gi; gi.require_version("
                                "'GstRtspServer', '1.0'); from gi.repository import GstRtspServer"],
                               capture_output=True)
        if check.returncode != 0:
            raise RtspUnavailable("--rtsp needs gst-rtsp-server for the system python3 "
                                  "(apt-get install python3-gi gir1.2-gst-rtsp-server-1.0 "
                                  "gstreamer1.0-plugins-good)")
        now = time.time()
        for st in self.cameras:
            self._write(st, self._render(st, now))
        conf = {"port": self.port, "fps": 5, "width": frames.WIDTH, "height": frames.HEIGHT,
                "cameras": [
            {"ip": st.spec.ip, "user": st.spec.username, "password": st.spec.password,
             "frame": str(self.frame_path(st))} for st in self.cameras]}
        conf_path = self.dir / "rtsp.json"
        conf_path.write_text(json.dumps(conf), encoding="utf-8")
        os.chmod(conf_path, 0o600)            # holds the cameras' passwords
        self.proc = subprocess.Popen([SYSTEM_PYTHON, str(HELPER), str(conf_path)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        loop = asyncio.get_running_loop()
        try:
            line = await asyncio.wait_for(loop.run_in_executor(None, self.proc.stdout.readline), 20)
        except asyncio.TimeoutError:
            line = "no answer in 20 s"
        if line.strip() != "ready":
            self.stop()
            raise RuntimeError(f"RTSP helper did not start: {line.strip()!r}")
        self._task = loop.create_task(self._refresh())

    async def _refresh(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(REFRESH_S)
            now = time.time()
            for st in self.cameras:
                try:
                    jpeg = await loop.run_in_executor(self.pool, self._render, st, now)
                    self._write(st, jpeg)
                except (OSError, RuntimeError):
                    pass     # next round; a stream keeps its last picture meanwhile

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.proc.stdin.close()       # the helper quits on EOF
                self.proc.wait(3)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(3)
        shutil.rmtree(self.dir, ignore_errors=True)
