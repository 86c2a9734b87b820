"""The naive peer for bench.probes: the original synchronous onvif-zeep 0.2.12.

Runs inside its own virtualenv (bench/out/peer-venv, created by bench.probes), because
onvif-zeep and onvif-zeep-async both import as ``onvif``. Imports nothing of ours.
For each device, in a plain loop, the way a quick script does it: build an
``ONVIFCamera`` (which parses the WSDLs again), read device information and the clock,
the media profiles, stream and snapshot URIs, and fetch the snapshot with Digest auth.
Prints one JSON line: devices, seconds, ok, errors, peak RSS.
"""
from __future__ import annotations

import csv
import json
import resource
import sys
import time


def main(argv: list[str]) -> int:
    inventory, limit = argv[0], int(argv[1])
    import requests
    from requests.auth import HTTPDigestAuth
    from onvif import ONVIFCamera
    import logging
    logging.disable(logging.CRITICAL)

    rows = []
    with open(inventory, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["kind"] in ("camera", "nvr"):
                rows.append(row)
            if len(rows) >= limit:
                break
    ok = 0
    errors: dict[str, int] = {}
    t0 = time.perf_counter()
    for row in rows:
        try:
            cam = ONVIFCamera(row["ip"], int(row["onvif_port"]), row["username"],
                              row["password"])
            cam.devicemgmt.GetDeviceInformation()
            cam.devicemgmt.GetSystemDateAndTime()
            media = cam.create_media_service()
            profiles = media.GetProfiles()
            token = profiles[0].token
            media.GetStreamUri({"StreamSetup": {"Stream": "RTP-Unicast",
                                                "Transport": {"Protocol": "RTSP"}},
                                "ProfileToken": token})
            snap = media.GetSnapshotUri({"ProfileToken": token})
            r = requests.get(snap.Uri, auth=HTTPDigestAuth(row["username"], row["password"]),
                             timeout=10)
            r.raise_for_status()
            ok += 1
        except Exception as exc:  # noqa: BLE001 - count and carry on, like a sweep would
            errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
    elapsed = time.perf_counter() - t0
    ru = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"devices": len(rows), "seconds": elapsed, "ok": ok, "errors": errors,
                      "cpu_s": ru.ru_utime + ru.ru_stime, "peak_rss_mb": ru.ru_maxrss / 1024}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
