"""Inventory import of a 20,000-device file: ours vs a row-by-row ORM import.

`.venv/bin/python -m bench.inventory [--devices N]` prints, for the same generated CSV on a fresh
SQLite database each: our whole-file validate + one-transaction bulk apply (first import,
then the same file again = all unchanged), XLSX reading, and the peer: the way a quick script
imports (pandas.read_csv, then per row: look the community up, look the upstream up,
session.add(Device(...)), one commit at the end). The peer does no validation at all, so the
ratio flatters it. With FSP_TEST_PG_URL set (or --pg URL) ours is also timed on PostgreSQL in
a scratch database.
"""
from __future__ import annotations

import argparse
import csv
import io
import os
import random
import tempfile
import time
from pathlib import Path

KINDS_PER_COMMUNITY = 20  # 1 switch, 1 NVR, 17 cameras, 1 speaker
ROLES = ("entrance", "road", "perimeter", "high_altitude", "fire_lane", "interior")
HEADERS = ["community", "district", "community_type", "name", "kind", "role", "vendor", "model",
           "serial", "mac", "ip", "onvif_port", "snmp_port", "snmp_community", "username",
           "password", "upstream", "contract", "installed_on"]
DEVICE_KEY = "h3kHcTsDkd5XLkH0P7L8rJxBvGDn-wD0vjyFnjFLoX4="


def make_rows(n: int, seed: int = 1, contracts: int = 10) -> list[list[str]]:
    """N devices in communities of 20 (switch -> NVR -> cameras), loopback addresses only."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        c, k = divmod(i, KINDS_PER_COMMUNITY)
        community = f"小区{c:04d}"
        district = f"区{c % 12:02d}"
        ctype = ("open", "closed", "single_building")[c % 3]
        ip = f"127.{50 + i // 65000}.{(i // 250) % 256}.{i % 250 + 1}"
        mac = "02:00:%02x:%02x:%02x:%02x" % ((i >> 24) & 255, (i >> 16) & 255, (i >> 8) & 255,
                                             i & 255)
        contract = f"C-2026-{c % contracts + 1:03d}"
        sw, nvr = f"SW-{c:05d}", f"NVR-{c:05d}"
        if k == 0:
            row = [f"交换机{c}", "switch", "", "H3C", "S5120", sw, "", "161", "public-x",
                   "", "", ""]
        elif k == 1:
            row = [f"录像机{c}", "nvr", "", "Hikvision", "DS-7608", nvr, "80", "", "",
                   "admin", f"pw-{rng.getrandbits(48):x}", sw]
        elif k == KINDS_PER_COMMUNITY - 1:
            row = [f"音柱{c}", "speaker", "", "", "", f"SPK-{c:05d}", "", "", "", "", "", sw]
        else:
            row = [f"摄像机{c}-{k}", "camera", ROLES[k % len(ROLES)], "Dahua", "IPC",
                   f"CAM-{i:06d}", "80", "", "", "admin", f"pw-{rng.getrandbits(48):x}", nvr]
        name, kind, role, vendor, model, serial, onvif, snmp_port, snmp_comm, user, pw, up = row
        rows.append([community, district, ctype, name, kind, role, vendor, model, serial, mac,
                     ip, onvif, snmp_port, snmp_comm, user, pw, up, contract, "2026-01-15"])
    return rows


def to_csv(rows: list[list[str]]) -> bytes:
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(HEADERS)
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")


def to_xlsx(rows: list[list[str]]) -> bytes:
    import openpyxl

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("devices")
    ws.append(HEADERS)
    for r in rows:
        ws.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _app(db_path: Path | str):
    from flask_migrate import upgrade

    from app import create_app

    url = db_path if isinstance(db_path, str) else f"sqlite:///{db_path}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench",
                      "DEVICE_SECRET_KEY": DEVICE_KEY})
    with app.app_context():
        upgrade()
    return app


def seed_contracts(n: int = 10) -> None:
    import datetime as dt

    from supervisor.core.extensions import db
    from supervisor.inventory.models import Contract, Contractor

    ctr = Contractor(name="Bench 安防")
    db.session.add(ctr)
    db.session.flush()
    for i in range(n):
        db.session.add(Contract(code=f"C-2026-{i + 1:03d}", contractor_id=ctr.id,
                                start_month=dt.date(2026, 1, 1)))
    db.session.commit()


def ours(app, data: bytes, filename: str = "inv.csv") -> tuple[float, float, object]:
    from supervisor.inventory import importer as inventory

    with app.app_context():
        t0 = time.perf_counter()
        plan = inventory.parse_upload(filename, data)
        t1 = time.perf_counter()
        assert plan.ok, plan.error_lines()[:5]
        counts = inventory.apply_plan(plan, "bench")
        t2 = time.perf_counter()
    return t1 - t0, t2 - t1, counts


def peer(app, data: bytes) -> float:
    """Row-by-row ORM import, no validation: how a quick script does it."""
    import pandas as pd
    from sqlalchemy import select

    from supervisor.core.extensions import db
    from supervisor.inventory.models import Community, Contract, Device

    with app.app_context():
        t0 = time.perf_counter()
        df = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
        s = db.session
        for r in df.itertuples(index=False):
            comm = s.scalar(select(Community).where(Community.name == r.community))
            if comm is None:
                comm = Community(name=r.community, district=r.district, type=r.community_type)
                s.add(comm)
            contract = s.scalar(select(Contract).where(Contract.code == r.contract))
            up = s.scalar(select(Device).where(Device.serial == r.upstream)) if r.upstream else None
            s.add(Device(serial=r.serial, name=r.name, kind=r.kind, role=r.role or None,
                         vendor=r.vendor or None, model=r.model or None, mac=r.mac or None,
                         ip=r.ip, onvif_port=int(r.onvif_port) if r.onvif_port else None,
                         snmp_port=int(r.snmp_port) if r.snmp_port else None,
                         snmp_community=r.snmp_community or None, username=r.username or None,
                         password=r.password or None, upstream=up, community=comm,
                         contract=contract))
        s.commit()
        return time.perf_counter() - t0


def _on_postgres(server_url: str, data: bytes) -> tuple[float, float] | None:
    import uuid

    import sqlalchemy as sa

    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    name = f"fsp_bench_inv_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.SQLAlchemyError as exc:
        print(f"(PostgreSQL skipped: {type(exc).__name__})")
        return None
    try:
        app = _app(server_url.rsplit("/", 1)[0] + f"/{name}")
        with app.app_context():
            seed_contracts()
        v, a, _ = ours(app, data)
        with app.app_context():
            from supervisor.core.extensions import db
            db.engine.dispose()
        return v, a
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="bench.inventory")
    ap.add_argument("--devices", type=int, default=20_000)
    ap.add_argument("--pg", default=os.environ.get("FSP_TEST_PG_URL"),
                    help="PostgreSQL server URL: also time our import there (a scratch database)")
    args = ap.parse_args(argv)
    rows = make_rows(args.devices)
    data = to_csv(rows)
    xlsx = to_xlsx(rows)
    with tempfile.TemporaryDirectory(prefix="bench-inv-") as tmp:
        tmp_path = Path(tmp)
        app = _app(tmp_path / "ours.db")
        with app.app_context():
            seed_contracts()
        v1, a1, c1 = ours(app, data)
        v2, a2, c2 = ours(app, data)
        app_x = _app(tmp_path / "ours_xlsx.db")
        with app_x.app_context():
            seed_contracts()
        vx, ax, cx = ours(app_x, xlsx, "inv.xlsx")
        app_p = _app(tmp_path / "peer.db")
        with app_p.app_context():
            seed_contracts()
        tp = peer(app_p, data)
    pg = _on_postgres(args.pg, data) if args.pg else None
    first = v1 + a1
    print(f"devices: {args.devices} ({len(data) / 1e6:.1f} MB CSV, {len(xlsx) / 1e6:.1f} MB XLSX)")
    print(f"ours, CSV first import:   {first:6.2f} s  (validate {v1:.2f} s + apply {a1:.2f} s)  {c1}")
    print(f"ours, CSV re-import:      {v2 + a2:6.2f} s  {c2}")
    print(f"ours, XLSX first import:  {vx + ax:6.2f} s  (read+validate {vx:.2f} s + apply {ax:.2f} s)")
    if pg:
        print(f"ours, CSV on PostgreSQL:  {pg[0] + pg[1]:6.2f} s  (validate {pg[0]:.2f} s + "
              f"apply {pg[1]:.2f} s)")
    print(f"peer, row-by-row ORM:     {tp:6.2f} s  (no validation)")
    print(f"ratio (CSV first import): ours is {tp / first:.1f}x faster than the row-by-row peer")
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
