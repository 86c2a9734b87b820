"""`flask demo` (what `make demo` runs): a working platform on one machine, from a fresh clone.

1. upgrade the database (instance/supervisor.db unless FLASK_SQLALCHEMY_DATABASE_URI says so);
2. start the simulated fleet (`python -m simulator ... --inventory instance/demo-fleet.csv`)
   and import the inventory it writes, except the devices of docs/sample-inventory.csv:
   those are real devices of the same fleet (its last two communities, seed 1, 300
   devices), left out so that the README tour's import step adds devices that answer;
   if the simulator is missing or fails, import docs/sample-inventory.csv instead (and say so);
3. create or refresh the seeded users -- police, official, and one contractor user per
   contractor -- with fresh random passwords, printed once;
4. start the sweep scheduler when supervisor.sweeps.scheduler is available;
5. serve the pages at http://127.0.0.1:5000 until Ctrl-C, which stops everything it
   started, the fleet included.
"""
from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import click
from flask import Flask
from flask.cli import with_appcontext

from supervisor.demo import history

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "docs" / "sample-inventory.csv"
SCENARIO = Path(__file__).with_name("scenario.yaml")  # the demo's live faults
# Contracts created by the demo import belong to the contractor named in the file, else the
# first of these; when the file names none, the contracts are then shared out between both
# so the demo shows two tenants side by side.
DEMO_CONTRACTORS = ("东方安防工程有限公司", "城市网络科技有限公司")
DEFAULT_CONTRACTOR = DEMO_CONTRACTORS[0]


def _say(message: str) -> None:
    print(f"[demo] {message}", flush=True)


def start_fleet(args: Any, inventory: Path) -> subprocess.Popen | None:
    """Starts the simulator in its own process group and waits for its inventory file."""
    if args.no_fleet or importlib.util.find_spec("simulator.__main__") is None:
        _say("simulated fleet not available: using the sample inventory")
        return None
    inventory.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "simulator", "--devices", str(args.devices), "--seed", "1",
           "--inventory", str(inventory), "--control-port", str(args.control_port)]
    if not getattr(args, "calm", False):
        cmd += ["--scenario", str(SCENARIO)]  # live faults, so tickets open while you watch
    _say("starting the fleet: " + " ".join(cmd[1:]))
    proc = subprocess.Popen(cmd, cwd=ROOT, start_new_session=True)
    deadline = time.monotonic() + args.fleet_timeout
    last_size = -1
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            _say(f"the fleet exited with status {proc.returncode}: using the sample inventory")
            return None
        if inventory.exists():
            size = inventory.stat().st_size
            if size > 0 and size == last_size:  # written and no longer growing
                return proc
            last_size = size
        time.sleep(0.5)
    _say("the fleet did not write its inventory in time: using the sample inventory")
    stop_fleet(proc)
    return None


def stop_fleet(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)  # the group we created: the fleet and its children
        proc.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def serials_in(path: Path) -> set[str]:
    import csv

    with path.open(encoding="utf-8-sig", newline="") as fh:
        return {row["serial"] for row in csv.DictReader(fh) if row.get("serial")}


def without_sample(fleet_csv: Path, out: Path, sample: Path = SAMPLE) -> Path:
    """The fleet's inventory minus the sample's devices (the tour imports those itself)."""
    import csv

    leave_out = serials_in(sample)
    with fleet_csv.open(encoding="utf-8-sig", newline="") as src, \
            out.open("w", encoding="utf-8", newline="") as dst:
        reader = csv.DictReader(src)
        writer = csv.DictWriter(dst, fieldnames=reader.fieldnames or [], lineterminator="\n")
        writer.writeheader()
        writer.writerows(row for row in reader if row.get("serial") not in leave_out)
    return out


def import_inventory(path: Path) -> bool:
    from supervisor.core import audit
    from supervisor.inventory import importer as inventory

    plan = inventory.parse_upload(path.name, path.read_bytes(), create_contracts=True,
                                  contractor=DEFAULT_CONTRACTOR)
    if plan.errors:
        _say(f"{path} was rejected:")
        for line in list(inventory.iter_errors(plan.errors))[:20]:
            print("   ", line)
        return False
    counts = inventory.apply_plan(plan, f"{audit.cli_actor()} (demo)")
    _say(f"imported {path.name}: {counts}")
    return True


def share_contracts() -> None:
    """If every contract belongs to the default demo contractor, give every other one to the
    second demo contractor (audited), so there are two tenants to compare."""
    from sqlalchemy import select

    from supervisor.core import audit
    from supervisor.core.extensions import db
    from supervisor.inventory.models import Contract, Contractor

    contractors = db.session.scalars(select(Contractor)).all()
    if len(contractors) != 1 or contractors[0].name != DEFAULT_CONTRACTOR:
        return
    second = Contractor(name=DEMO_CONTRACTORS[1])
    db.session.add(second)
    contracts = db.session.scalars(select(Contract).order_by(Contract.code)).all()
    for contract in contracts[1::2]:
        audit.record(f"{audit.cli_actor()} (demo)", "update", "contract", contract.code,
                     before={"contractor": contract.contractor.name}, after={"contractor": second.name})
        contract.contractor = second
    db.session.commit()
    _say(f"contracts shared between {DEMO_CONTRACTORS[0]} and {DEMO_CONTRACTORS[1]}")


def seed_users() -> list[tuple[str, str, str, str]]:
    """(username, role, contractor, password) for each seeded user, passwords fresh."""
    from sqlalchemy import select

    from supervisor.core import audit
    from supervisor.people.accounts import create_user, find_user, set_password
    from supervisor.core.extensions import db
    from supervisor.inventory.models import Contractor
    from supervisor.people.cli import generate_password

    actor = f"{audit.cli_actor()} (demo)"
    wanted: list[tuple[str, str, Any]] = [("police", "police", None), ("official", "official", None)]
    contractors = db.session.scalars(select(Contractor).order_by(Contractor.id)).all()
    for number, contractor in enumerate(contractors, start=1):
        wanted.append((f"contractor{number}", "contractor", contractor))
    out = []
    for username, role, contractor in wanted:
        password = generate_password()
        user = find_user(username)
        if user is None:
            create_user(username, password, role, contractor=contractor, actor=actor)
        else:
            user.role, user.contractor, user.active = role, contractor, True
            set_password(user, password, actor=actor)
        out.append((username, role, contractor.name if contractor else "-", password))
    db.session.commit()
    return out


def start_scheduler(app: Flask) -> Any:
    from supervisor.sweeps import scheduler as scheduling

    try:
        service = scheduling.start(app)
    except Exception as exc:  # e.g. another scheduler holds the lease: serve pages anyway
        _say(f"scheduler not started: {exc}")
        return None
    _say("sweep scheduler started")
    return service


@click.command("demo")
@click.option("--port", type=int, default=lambda: int(os.environ.get("FSP_DEMO_PORT", 5000)),
              show_default="5000 or FSP_DEMO_PORT")
@click.option("--devices", type=int, default=300, show_default=True)
@click.option("--control-port", type=int, default=8899, show_default=True)
@click.option("--fleet-timeout", type=float, default=120.0, show_default=True)
@click.option("--no-fleet", is_flag=True, help="import the sample inventory instead")
@click.option("--no-scheduler", is_flag=True)
@click.option("--calm", is_flag=True, help="no live faults (supervisor/demo/scenario.yaml)")
@with_appcontext
def demo_command(**options: Any) -> None:
    """A working platform on one machine: fleet, inventory, users, scheduler and pages."""
    from flask import current_app

    sys.exit(run(current_app._get_current_object(), SimpleNamespace(**options)))


def run(app: Flask, args: Any) -> int:
    """Sets the demo up on `app` and serves it until Ctrl-C or SIGTERM; returns the exit code."""
    from flask_migrate import upgrade
    from werkzeug.serving import make_server

    instance = Path(app.instance_path)
    fleet = None
    scheduler = None
    server = None
    try:
        with app.app_context():
            upgrade()
            fleet = start_fleet(args, instance / "demo-fleet.csv")
            source = (without_sample(instance / "demo-fleet.csv", instance / "demo-initial.csv")
                      if fleet is not None else SAMPLE)
            if not import_inventory(source):
                if source == SAMPLE:
                    return 1
                _say("falling back to the sample inventory")
                import_inventory(SAMPLE)
            share_contracts()
            history.demo_backfill(_say)  # months of past states for the reports
            users = seed_users()
        print("\nSeeded users (passwords are shown this once; `flask users set-password NAME` to change):")
        print(f"  {'username':<14} {'role':<11} {'contractor':<28} password")
        for username, role, contractor, password in users:
            print(f"  {username:<14} {role:<11} {contractor:<28} {password}")
        print(flush=True)
        if not args.no_scheduler:
            scheduler = start_scheduler(app)
        try:
            server = make_server("127.0.0.1", args.port, app, threaded=True)
        except OSError as exc:
            _say(f"cannot listen on 127.0.0.1:{args.port} ({exc.strerror}); "
                 f"pick another port with --port or FSP_DEMO_PORT")
            return 2
        _say(f"serving at http://127.0.0.1:{args.port}  (Ctrl-C stops everything)")

        def _on_term(*_: Any) -> None:  # SIGTERM behaves like Ctrl-C: a clean stop
            threading.Thread(target=server.shutdown, daemon=True).start()

        signal.signal(signal.SIGTERM, _on_term)
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        _say("stopping")
        if server is not None:
            server.server_close()
        if scheduler is not None:
            try:
                scheduler.shutdown(wait=False)
            except Exception as exc:  # stopping must go on to the fleet
                _say(f"scheduler shutdown: {exc}")
        stop_fleet(fleet)
    return 0


def init_app(app: Flask) -> None:
    from supervisor.demo.screenshots import screenshots_command

    app.cli.add_command(demo_command)
    app.cli.add_command(screenshots_command)
