"""RTSP streams for a few simulated cameras: GStreamer's gst-rtsp-server (Debian
gir1.2-gst-rtsp-server-1.0), run by the simulator as a separate process with the *system*
python3 (PyGObject lives there, not in the project's venv). Imports nothing of ours.

    /usr/bin/python3 rtsp_helper.py CONFIG.json

CONFIG: {"port": 8554, "fps": 5, "width": 1280, "height": 720, "cameras": [{"ip", "user", "password", "frame"}...]}.
Each camera gets its own RTSPServer on ip:port (so it looks like that camera's own RTSP
service) with Digest authentication, and mounts /Streaming/Channels/101 and /201 serving
MJPEG over RTP: the JPEG file ``frame`` re-read for every video frame, so the simulator
changes the picture (faults, PTZ) by replacing that file. Prints "ready" once every
server listens; exits when its stdin closes (the simulator ended).
"""
import json
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402


def _factory(frame: str, fps: int, size: tuple, auth_role: str) -> GstRtspServer.RTSPMediaFactory:
    factory = GstRtspServer.RTSPMediaFactory()
    # The JPEG goes out as it is (no decode/encode); the caps name its size because
    # jpegparse, which would read it, is in gst-plugins-bad.
    factory.set_launch(
        f'( multifilesrc location="{frame}" loop=true '
        f'caps="image/jpeg,framerate={fps}/1,width={size[0]},height={size[1]}" '
        '! rtpjpegpay name=pay0 pt=26 )')
    factory.set_shared(True)
    perms = GstRtspServer.RTSPPermissions()
    perms.add_permission_for_role(auth_role, "media.factory.access", True)
    perms.add_permission_for_role(auth_role, "media.factory.construct", True)
    factory.set_permissions(perms)
    return factory


def main() -> int:
    with open(sys.argv[1], encoding="utf-8") as fh:
        conf = json.load(fh)
    Gst.init(None)
    port, fps = str(conf["port"]), int(conf.get("fps", 5))
    size = (int(conf.get("width", 1280)), int(conf.get("height", 720)))
    servers = []
    for cam in conf["cameras"]:
        server = GstRtspServer.RTSPServer()
        server.set_address(cam["ip"])
        server.set_service(port)
        auth = GstRtspServer.RTSPAuth()
        auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
        # The variadic constructor is not introspectable, and writable_structure() hands
        # Python a copy: set_string writes the token itself.
        token = GstRtspServer.RTSPToken()
        token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "viewer")
        auth.add_digest(cam["user"], cam["password"], token)
        server.set_auth(auth)
        mounts = server.get_mount_points()
        for path in ("/Streaming/Channels/101", "/Streaming/Channels/201"):
            mounts.add_factory(path, _factory(cam["frame"], fps, size, "viewer"))
        if server.attach(None) == 0:
            print(f"attach failed on {cam['ip']}:{port}", flush=True)
            return 1
        servers.append(server)
    loop = GLib.MainLoop()

    def stdin_closed(*_args) -> bool:
        loop.quit()
        return False
    GLib.io_add_watch(GLib.IOChannel.unix_new(sys.stdin.fileno()),
                      GLib.PRIORITY_DEFAULT, GLib.IOCondition.HUP | GLib.IOCondition.IN,
                      stdin_closed)
    print("ready", flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
