"""`flask demo-screenshots OUTDIR`: the README's screenshots, taken from a real run — the
demo's fleet (seed 1), its inventory imported, faults set through the fleet's control API,
sweeps run through the pipeline — in Debian's chromium (Playwright).

Writes devices-zh.png, faults-zh.png, timeline-zh.png (1280 px wide) and faults-phone-zh.png
(390 px), each reduced to a small palette PNG. It needs an empty database of its own (it
refuses one holding devices) and binds the demo's fleet addresses; on a shared machine:
    unshare -n bash -c 'ip link set lo up && FLASK_SQLALCHEMY_DATABASE_URI=sqlite:////tmp/shots.db \
        .venv/bin/flask --app app:create_app demo-screenshots docs/screenshots'
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import click

CONTROL_PORT = 18896
FAULTS = (("switch", 1, ["offline"]), ("camera", 2, ["blur"]), ("camera", 5, ["too_dark"]),
          ("camera", 8, ["clock_drift"]), ("nvr", 2, ["recording_loss"]))


def _post(url: str, body: dict) -> None:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=10).read()


def _shrink(path: Path) -> None:
    """A palette PNG: a screenshot of flat colours loses nothing visible and shrinks 3-4x."""
    from PIL import Image

    image = Image.open(path).convert("RGB")
    image.quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)


def main(app: Any, out: Path, devices: int = 60) -> int:
    from flask_migrate import upgrade
    from sqlalchemy import func, select
    from werkzeug.serving import make_server

    from supervisor.core.extensions import db
    from supervisor.demo import cli as demo
    from supervisor.inventory.models import Device
    from supervisor.sweeps.pipeline import run_sweep

    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="screens-"))
    app.config["RATELIMIT_ENABLED"] = False
    app.config["EVIDENCE_DIR"] = str(work / "evidence")  # frames of this run only
    args = SimpleNamespace(no_fleet=False, devices=devices, control_port=CONTROL_PORT,
                           fleet_timeout=120.0)
    with app.app_context():
        upgrade()
        if db.session.scalar(select(func.count(Device.id))):
            print("this database holds devices: give the command an empty one "
                  "(FLASK_SQLALCHEMY_DATABASE_URI)", file=sys.stderr)
            return 2
        fleet = demo.start_fleet(args, work / "fleet.csv")
        if fleet is None:
            print("the fleet did not start", file=sys.stderr)
            return 1
        try:
            demo.import_inventory(work / "fleet.csv")
            demo.share_contracts()
            users = {u[0]: u[3] for u in demo.seed_users()}
            by_kind: dict[str, list[Device]] = {}
            for d in db.session.scalars(select(Device).order_by(Device.id)):
                by_kind.setdefault(d.kind, []).append(d)
            for tier in ("fast", "full", "frame"):
                run_sweep(tier, settings=app.extensions["settings"])
            broken = []
            for kind, index, faults in FAULTS:
                device = by_kind[kind][index]
                broken.append(device)
                _post(f"http://127.0.0.1:{CONTROL_PORT}/devices/{device.serial}/faults",
                      {"faults": faults, **({"clock_offset_s": 3600} if "clock_drift" in faults
                                            else {})})
            for _ in range(3):
                for tier in ("fast", "full", "frame"):
                    run_sweep(tier, settings=app.extensions["settings"])
            from supervisor.health.models import DeviceStatus

            shown = db.session.scalar(select(DeviceStatus.device_id).where(
                DeviceStatus.cause == "image_fault").order_by(DeviceStatus.device_id)) \
                or broken[1].id  # a camera with an image fault: chart, reasons and diagnosis
            server = make_server("127.0.0.1", 15490, app, threaded=True)
            thread = threading.Thread(target=server.serve_forever, daemon=True)
            thread.start()
            try:
                _shoot(out, "http://127.0.0.1:15490", users, shown)
            finally:
                server.shutdown()
        finally:
            demo.stop_fleet(fleet)
    for name in ("devices-zh.png", "faults-zh.png", "timeline-zh.png", "faults-phone-zh.png"):
        _shrink(out / name)
        print(out / name, (out / name).stat().st_size, "bytes")
    return 0


def _shoot(out: Path, base: str, users: dict[str, str], camera_id: int) -> None:
    from playwright.sync_api import sync_playwright

    chromium = os.environ.get("PLAYWRIGHT_CHROMIUM", "/usr/bin/chromium")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True,
                                    args=["--no-sandbox", "--disable-gpu"])
        try:
            for who, options, shots in (
                    ("police", {"viewport": {"width": 1280, "height": 800}},
                     (("/devices/", "devices-zh.png"), ("/health/faults", "faults-zh.png"),
                      (f"/health/devices/{camera_id}?span=day", "timeline-zh.png"))),
                    ("contractor1", {"viewport": {"width": 390, "height": 844},
                                     "device_scale_factor": 1, "is_mobile": True},
                     (("/health/faults", "faults-phone-zh.png"),))):
                context = browser.new_context(locale="zh-CN", **options)
                tab = context.new_page()
                tab.goto(f"{base}/login")
                tab.fill("#username", who)
                tab.fill("#password", users[who])
                tab.click("section.login button[type=submit]")
                tab.wait_for_url(f"{base}/devices/")
                for path, name in shots:
                    tab.goto(base + path)
                    tab.wait_for_load_state("networkidle")
                    time.sleep(0.3)  # plotly's first paint after the load event
                    tab.screenshot(path=str(out / name))
                context.close()
        finally:
            browser.close()


@click.command("demo-screenshots")
@click.argument("outdir", type=click.Path(file_okay=False, path_type=Path),
                default=Path("docs/screenshots"))
@click.option("--devices", type=int, default=60, show_default=True)
def screenshots_command(outdir: Path, devices: int) -> None:
    """The README's screenshots from a real fleet run (needs an empty database)."""
    from flask import current_app

    sys.exit(main(current_app._get_current_object(), outdir, devices))
