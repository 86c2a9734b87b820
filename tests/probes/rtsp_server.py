"""A tiny RTSP server for the frame-probe tests: GStreamer's gst-rtsp-server (Debian).

Run with the system python3 (PyGObject lives there, not in our venv):
    python3 rtsp_server.py HOST PORT
Serves an MJPEG test pattern at rtsp://HOST:PORT/test and prints "ready" once listening.
"""
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

WIDTH, HEIGHT = 320, 240


def main() -> None:
    host, port = sys.argv[1], sys.argv[2]
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address(host)
    server.set_service(port)
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(
        f"( videotestsrc is-live=true pattern=smpte ! video/x-raw,format=I420,width={WIDTH},height={HEIGHT},"
        "framerate=10/1 ! jpegenc quality=80 ! rtpjpegpay name=pay0 pt=26 )")
    factory.set_shared(True)
    server.get_mount_points().add_factory("/test", factory)
    if server.attach(None) == 0:
        print("attach failed", flush=True)
        sys.exit(1)
    print("ready", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
