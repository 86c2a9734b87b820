"""The device list with 20,000 devices: keyset pages (ours) vs OFFSET pages (the peer).

`.venv/bin/python -m bench.device_pages [--devices N] [--repeat R]` builds a scratch SQLite
database through the migrations, inserts N devices in communities of 20 (every 7th with an
`offline` row in device_status), then times, median of R runs each:
- ours: `device_query.page()` -- scoped, filtered, state-joined, keyset on id, plus the count;
- peer: the same select paged the common way, `LIMIT 50 OFFSET k` plus a count of the
  whole joined query as a subquery (what Flask-SQLAlchemy's `db.paginate()` does);
for the first page, the middle page and the last page, unfiltered and filtered by state; and
the whole HTTP response of the devices page (first and last page) through the Flask test
client as police. Figures: milliseconds, and peer/ours ratios (>1 means ours is faster).
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

PAGE = 50


def _median_ms(fn, repeat: int) -> float:
    fn()  # warm the page cache and the statement cache
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def _build(n: int) -> None:
    from sqlalchemy import insert, select

    from supervisor.people.accounts import create_user
    from supervisor.core.extensions import db
    from supervisor.inventory.models import Community, Contract, Contractor, Device
    from supervisor.health.models import DeviceStatus

    import datetime as dt
    contractor = Contractor(name="Bench Ltd")
    contract = Contract(code="BENCH-1", contractor=contractor, start_month=dt.date(2026, 1, 1))
    db.session.add_all([contractor, contract])
    db.session.flush()
    communities = [{"name": f"小区{c:04d}", "district": f"区{c % 12:02d}", "type": "open"}
                   for c in range(max(1, n // 20))]
    db.session.execute(insert(Community), communities)
    ids = db.session.scalars(select(Community.id).order_by(Community.id)).all()
    rows = [{"serial": f"B{i:06d}", "name": f"camera {i}", "kind": "camera" if i % 20 > 1 else "switch",
             "role": "road" if i % 20 > 1 else None, "ip": f"127.{50 + i // 65000}.{(i // 250) % 256}.{i % 250 + 1}",
             "community_id": ids[min(i // 20, len(ids) - 1)], "contract_id": contract.id,
             "lifecycle": "installed"} for i in range(n)]
    db.session.execute(insert(Device), rows)
    device_ids = db.session.scalars(select(Device.id).order_by(Device.id)).all()
    db.session.execute(insert(DeviceStatus), [
        {"device_id": d, "state": "offline", "flapping": False, "candidate_count": 0}
        for d in device_ids[::7]])
    create_user("bench-police", "bench-password-1", "police", actor="bench")
    db.session.commit()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.device_pages")
    parser.add_argument("--devices", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=31)
    args = parser.parse_args(argv)

    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from app import create_app
    from supervisor.people.accounts import find_user
    from supervisor.core.extensions import db
    from supervisor.inventory.models import Device
    from supervisor.inventory import queries as device_query

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{Path(tmp) / 'bench.db'}",
                          "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False,
                          "RATELIMIT_ENABLED": False,
                          "DEVICE_SECRET_KEY": "h3kHcTsDkd5XLkH0P7L8rJxBvGDn-wD0vjyFnjFLoX4="})
        with app.app_context():
            upgrade()
            start = time.perf_counter()
            _build(args.devices)
            print(f"built {args.devices} devices in {time.perf_counter() - start:.1f} s (SQLite)")
            user = find_user("bench-police")
            results = []
            for label, filters in (("all", device_query.DeviceFilters()),
                                   ("state=offline", device_query.DeviceFilters(state="offline"))):
                base = device_query.filtered(user, filters)
                ids = db.session.scalars(base.with_only_columns(Device.id).order_by(Device.id)).all()
                total = len(ids)
                for where, index in (("first", 0), ("middle", (total // PAGE // 2) * PAGE),
                                     ("last", ((total - 1) // PAGE) * PAGE)):
                    after = ids[index - 1] if index else None

                    def ours():
                        page = device_query.page(user, filters, after=after, size=PAGE)
                        assert page.rows and page.rows[0][0].id == ids[index]

                    def peer():
                        stmt = base.add_columns(device_query.state_expr)
                        rows = db.session.execute(stmt.order_by(Device.id).limit(PAGE).offset(index)).all()
                        # Count the way a paginate() helper does: the same joined query, wrapped.
                        db.session.scalar(select(func.count()).select_from(base.order_by(None).subquery()))
                        assert rows and rows[0][0].id == ids[index]

                    def ours_rows():
                        stmt = base.add_columns(device_query.state_expr)
                        if after is not None:
                            stmt = stmt.where(Device.id > after)
                        db.session.execute(stmt.order_by(Device.id).limit(PAGE)).all()

                    def peer_rows():
                        stmt = base.add_columns(device_query.state_expr)
                        db.session.execute(stmt.order_by(Device.id).limit(PAGE).offset(index)).all()

                    a, b = _median_ms(ours, args.repeat), _median_ms(peer, args.repeat)
                    ra, rb = _median_ms(ours_rows, args.repeat), _median_ms(peer_rows, args.repeat)
                    results.append((label, where, a, b, ra, rb))
                    db.session.expunge_all()
            count_ms = _median_ms(lambda: device_query.count(user, device_query.DeviceFilters()), args.repeat)
            print("page = rows + count (what a request does); rows = the page query alone")
            print(f"{'filter':<14} {'page':<7} {'ours page':>10} {'peer page':>10} {'ratio':>6}"
                  f" {'ours rows':>10} {'peer rows':>10} {'ratio':>6}   (ms; ratio = peer/ours)")
            for label, where, a, b, ra, rb in results:
                print(f"{label:<14} {where:<7} {a:>10.2f} {b:>10.2f} {b / a:>6.2f} {ra:>10.2f} {rb:>10.2f} {rb / ra:>6.2f}")
            print(f"count of all {args.devices} devices (scoped, joined): {count_ms:.2f} ms")

        # Whole HTTP responses (render included), logged in as police.
        client = app.test_client()
        client.post("/login", data={"username": "bench-police", "password": "bench-password-1"})
        with app.app_context():
            last_after = db.session.scalar(select(Device.id).order_by(Device.id.desc()).offset(PAGE))
        for where, url in (("first", "/devices/"), ("last", f"/devices/?after={last_after}")):
            def get():
                response = client.get(url)
                assert response.status_code == 200, response.status_code
            print(f"HTTP devices page, {where}: {_median_ms(get, args.repeat):.1f} ms (50 rows, count, filters)")
        for fmt in ("csv", "xlsx"):
            start = time.perf_counter()
            response = client.get(f"/devices/export.{fmt}")
            assert response.status_code == 200
            print(f"HTTP export of all {args.devices} devices as {fmt.upper()}: "
                  f"{time.perf_counter() - start:.2f} s, {len(response.data) / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    import sys
    sys.exit(main(sys.argv[1:]))
