"""The sweep pipeline against a real (SQLite) database with a scripted executor:
intervals, events, upstream causes, idempotent replays, rollups, retention, the CLI."""
from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa
from db_helpers import set_settings
from flask import current_app
from health_helpers import T0, ScriptedExecutor

from supervisor.core.extensions import db
from supervisor.health.models import (
    DailyRollup,
    DeviceStatus,
    ProbeSample,
    StateEvent,
    StateInterval,
)
from supervisor.health.rules import HealthRules
from supervisor.health.store import housekeeping, rollup_day
from supervisor.profiles.loader import load_profile
from supervisor.sweeps.models import SweepRun
from supervisor.sweeps.pipeline import run_sweep

MIN = dt.timedelta(minutes=1)


def naive(t: dt.datetime) -> dt.datetime:
    return t.replace(tzinfo=None)


def sweeps(executor, n, start=0):
    for i in range(start, start + n):
        executor.at = T0 + i * MIN
        run_sweep("fast", executor=executor, clock=lambda: naive(executor.at) + dt.timedelta(seconds=1), settings=current_app.extensions["settings"])


def switch_outage(serial, at):
    # the switch is down for minutes [5, 12); CAM3 (no upstream) for [7, 9) — 2 probes
    i = int((at - T0) / MIN)
    if serial == "SW1":
        return not (5 <= i < 12)
    if serial in ("CAM1", "CAM2"):
        return not (5 <= i < 12)
    if serial == "CAM3":
        return not (7 <= i < 9)
    return True


def rows(model, **filters):
    key = model.device_id if model is DeviceStatus else model.id
    return db.session.scalars(sa.select(model).filter_by(**filters).order_by(key)).all()


def test_switch_outage_gives_exact_intervals_and_upstream_cause(app, inventory):
    ex = ScriptedExecutor(switch_outage)
    sweeps(ex, 16)
    profile = load_profile()
    assert profile.hysteresis.to_offline == 3  # the numbers below rely on the profile's N

    sw = rows(StateInterval, device_id=inventory["SW1"])
    assert [(i.state, i.cause) for i in sw] == [("ok", None), ("offline", "unreachable"), ("ok", None)]
    off = sw[1]
    # starts at the FIRST failing probe (minute 5), ends at the first answering one (12)
    assert off.start_at == naive(T0 + 5 * MIN)
    assert off.end_at == naive(T0 + 12 * MIN)

    for cam in ("CAM1", "CAM2"):
        ivs = rows(StateInterval, device_id=inventory[cam])
        assert [(i.state, i.cause) for i in ivs] == [("ok", None), ("offline", "upstream"), ("ok", None)]
        assert ivs[1].reasons[0]["upstream"] == "SW1"
        assert (ivs[1].start_at, ivs[1].end_at) == (naive(T0 + 5 * MIN), naive(T0 + 12 * MIN))
    # CAM3 failed two probes only: below the hysteresis, no outage at all
    assert [i.state for i in rows(StateInterval, device_id=inventory["CAM3"])] == ["ok"]

    # Exactly one interval open per device, no gaps, no overlaps
    for dev in inventory.values():
        ivs = rows(StateInterval, device_id=dev)
        assert sum(i.end_at is None for i in ivs) == 1
        for a, b in zip(ivs, ivs[1:]):
            assert a.end_at == b.start_at
    ev = rows(StateEvent, device_id=inventory["SW1"])
    assert [(e.old, e.new) for e in ev] == [("unknown", "ok"), ("ok", "offline"), ("offline", "ok")]
    runs = rows(SweepRun)
    assert len(runs) == 16 and all(r.status == "done" for r in runs)
    assert runs[6].failures_by_reason == {"reach:timeout": 3}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ProbeSample)) == 16 * 4


def test_replayed_sweep_changes_nothing(app, inventory):
    ex = ScriptedExecutor(switch_outage)
    sweeps(ex, 9)
    before = [(i.device_id, i.state, i.start_at, i.end_at) for i in rows(StateInterval)]
    status_before = [(s.device_id, s.state, s.candidate_count, s.last_sample_at) for s in rows(DeviceStatus)]
    sweeps(ex, 3, start=6)  # the same probes again (e.g. a retry after a crash)
    assert [(i.device_id, i.state, i.start_at, i.end_at) for i in rows(StateInterval)] == before
    assert [(s.device_id, s.state, s.candidate_count, s.last_sample_at) for s in rows(DeviceStatus)] == status_before
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ProbeSample)) == 9 * 4


def test_crash_mid_sweep_keeps_committed_batches_and_carries_on(app, inventory):
    ex = ScriptedExecutor(switch_outage)
    sweeps(ex, 6)
    ex.at, ex.stop_after = T0 + 6 * MIN, 2
    try:
        run_sweep("fast", executor=ex, batch_size=1, clock=lambda: naive(ex.at), settings=current_app.extensions["settings"])
    except KeyboardInterrupt:
        pass
    db.session.rollback()
    run = rows(SweepRun)[-1]
    assert run.status == "failed" and "simulated crash" in run.error
    # CAM3's committed result survives; CAM2 (offline, waiting for its switch to report)
    # was held back and is lost with the crash, as an uncommitted batch should be.
    got = db.session.scalars(sa.select(ProbeSample.device_id).where(
        ProbeSample.sweep_id == run.id)).all()
    assert got == [inventory["CAM3"]]
    ex.stop_after = None
    sweeps(ex, 10, start=6)  # the next sweeps carry on, re-probing minute 6 as well
    sw = rows(StateInterval, device_id=inventory["SW1"])
    assert [(i.state, i.start_at, i.end_at) for i in sw][1:] == [
        ("offline", naive(T0 + 5 * MIN), naive(T0 + 12 * MIN)), ("ok", naive(T0 + 12 * MIN), None)]


def test_rollups_and_retention(app, inventory):
    ex = ScriptedExecutor(switch_outage)
    sweeps(ex, 16)
    rules = HealthRules.from_profile(load_profile())
    now = naive(T0 + 16 * MIN)
    assert rollup_day(db.session, now.date(), now, rules) == 4
    db.session.commit()
    r = db.session.scalars(sa.select(DailyRollup).filter_by(device_id=inventory["CAM1"])).one()
    assert r.offline_s == 7 * 60 and r.upstream_offline_s == 7 * 60
    assert r.ok_s == (now - naive(T0)).total_seconds() - 7 * 60
    assert r.probes == 16 and r.probes_failed == 7 and r.flips == 3  # unknown→ok→offline→ok
    # 20 days later: samples older than raw_days are dropped, rollups stay
    later = now + dt.timedelta(days=20)
    out = housekeeping(db.session, later, rules, raw_days=14)
    db.session.commit()
    assert out["samples_dropped"] == 64
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ProbeSample)) == 0
    r = db.session.scalars(sa.select(DailyRollup).filter_by(device_id=inventory["CAM1"],
                                                            day=now.date())).one()
    assert r.probes == 16  # the rollup made before the drop still counts them


def test_cli_intervals_csv_and_json(app, inventory, runner):
    ex = ScriptedExecutor(switch_outage)
    sweeps(ex, 16)
    res = runner.invoke(args=["health", "intervals", "--device", "SW1", "--format", "json"])
    assert res.exit_code == 0, res.output
    recs = [json.loads(line) for line in res.output.splitlines()]
    assert [r["state"] for r in recs] == ["ok", "offline", "ok"]
    assert recs[1]["start"] == "2026-03-01T08:05:00Z" and recs[1]["end"] == "2026-03-01T08:12:00Z"
    res = runner.invoke(args=["health", "intervals", "--since", "2026-03-01T08:06:00Z",
                              "--until", "2026-03-01T08:11:00+00:00"])
    lines = res.output.splitlines()
    assert lines[0].startswith("serial,state,cause,start,end")
    assert sorted(l.split(",")[0] for l in lines[1:]) == ["CAM1", "CAM2", "CAM3", "SW1"]
    assert all(",offline," in l for l in lines[1:] if not l.startswith("CAM3"))
    bad = runner.invoke(args=["health", "intervals", "--since", "yesterday"])
    assert bad.exit_code != 0 and "ISO-8601" in bad.output
    assert runner.invoke(args=["health", "intervals", "--device", "NOPE"]).exit_code != 0


def test_sweep_refuses_unknown_serials(app, inventory):
    ex = ScriptedExecutor(switch_outage)
    try:
        run_sweep("fast", ["CAM1", "NOPE"], executor=ex, settings=current_app.extensions["settings"])
    except ValueError as exc:
        assert "NOPE" in str(exc)
    else:
        raise AssertionError("unknown serial accepted")
    assert ex.calls == []


def test_cli_housekeeping(app, inventory, runner):
    ex = ScriptedExecutor(switch_outage)
    sweeps(ex, 3)
    res = runner.invoke(args=["health", "housekeeping"])
    assert res.exit_code == 0, res.output
    # the scripted probes are months old: past raw_days, dropped after their day's rollup
    assert "samples_dropped=12" in res.output and "evidence_rows=0" in res.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ProbeSample)) == 0
    r = db.session.scalars(sa.select(DailyRollup).filter_by(device_id=inventory["SW1"],
                                                            day=T0.date())).one()
    assert r.probes == 3


def test_maintenance_window_is_exact_and_excluded(app, inventory):
    from supervisor.health.models import MaintenanceWindow

    # CAM3 is serviced over [3.5, 9.5) minutes: its outage inside is maintenance, not offline
    db.session.add(MaintenanceWindow(device_id=inventory["CAM3"], start_at=naive(T0 + 3.5 * MIN),
                                     end_at=naive(T0 + 9.5 * MIN), reason="lens swap",
                                     approved_by="police"))
    db.session.commit()

    def script(serial, at):
        i = int((at - T0) / MIN)
        return not (serial == "CAM3" and 4 <= i < 9)

    ex = ScriptedExecutor(script)
    sweeps(ex, 14)
    ivs = rows(StateInterval, device_id=inventory["CAM3"])
    assert [(i.state, i.start_at, i.end_at) for i in ivs] == [
        ("ok", naive(T0), naive(T0 + 3.5 * MIN)),
        ("maintenance", naive(T0 + 3.5 * MIN), naive(T0 + 9.5 * MIN)),
        ("unknown", naive(T0 + 9.5 * MIN), naive(T0 + 10 * MIN)),
        ("ok", naive(T0 + 10 * MIN), None)]
    now = naive(T0 + 14 * MIN)
    rollup_day(db.session, now.date(), now, HealthRules.from_profile(load_profile()))
    r = db.session.scalars(sa.select(DailyRollup).filter_by(device_id=inventory["CAM3"])).one()
    assert r.maintenance_s == 360 and r.offline_s == 0 and r.unknown_s == 30


def test_two_level_upstream_when_the_root_reports_last(app, inventory):
    """camera → switch → NVR all down, answering camera first and NVR last, one per batch:
    the camera still gets cause upstream naming the NVR, the switch too."""
    from supervisor.inventory.models import Device

    sw = db.session.get(Device, inventory["SW1"])
    nvr = Device(serial="NVR1", name="nvr", kind="nvr", ip="127.30.0.9", community_id=sw.community_id)
    db.session.add(nvr)
    db.session.flush()
    sw.upstream_id = nvr.id
    db.session.commit()
    rank = {"CAM1": 0, "CAM2": 1, "CAM3": 2, "SW1": 3, "NVR1": 4}
    ex = ScriptedExecutor(lambda s, at: s == "CAM3", order=lambda t: rank[t.serial])
    for i in range(3):
        ex.at = T0 + i * MIN
        run_sweep("fast", executor=ex, batch_size=1, clock=lambda: naive(ex.at), settings=current_app.extensions["settings"])
    for serial in ("CAM1", "CAM2", "SW1"):
        st = db.session.get(DeviceStatus, inventory.get(serial, None))
        assert st.state == "offline" and st.cause == "upstream", serial
        assert st.reasons[0]["upstream"] == "NVR1"
    assert db.session.get(DeviceStatus, nvr.id).cause == "unreachable"


def check_stale_status_detected(inventory):
    """A status row moved by another writer after we loaded it: the batch is refused."""
    import pytest

    from supervisor.health.rules import Observation
    from supervisor.health.store import (
        BatchItem,
        StaleStatus,
        load_statuses,
        write_batch,
    )

    ex = ScriptedExecutor(switch_outage)
    sweeps(ex, 2)
    ids = list(inventory.values())
    stale = load_statuses(db.session, ids)
    db.session.rollback()
    sweeps(ex, 1, start=2)  # another writer moves every row
    items = [BatchItem(d, "fast", Observation(at=naive(T0 + 3 * MIN), state="ok"), None) for d in ids]
    with pytest.raises(StaleStatus):
        write_batch(db.session, None, items, stale, HealthRules(), naive(T0 + 3 * MIN))
    db.session.rollback()
    # with fresh rows the same batch goes through
    fresh = load_statuses(db.session, ids)
    write_batch(db.session, None, items, fresh, HealthRules(), naive(T0 + 3 * MIN))
    db.session.commit()
    assert db.session.get(DeviceStatus, ids[0]).last_sample_at == naive(T0 + 3 * MIN)


def test_stale_status_detected(app, inventory):
    check_stale_status_detected(inventory)


def test_each_device_is_judged_by_its_contracts_profile(app, inventory, tmp_path):
    import shutil

    import yaml

    from supervisor.inventory.models import Contract, Contractor, Device
    from supervisor.profiles import loader as profiles
    from supervisor.profiles.loader import profile_dir

    folder = tmp_path / "profiles"
    folder.mkdir()
    shutil.copy(profile_dir() / "default-v1.yaml", folder / "default-v1.yaml")
    strict = yaml.safe_load((folder / "default-v1.yaml").read_text(encoding="utf-8"))
    strict.update(name="strict", version=1, supersedes=None)
    strict["hysteresis"]["to_offline"] = 1
    (folder / "strict-v1.yaml").write_text(yaml.safe_dump(strict, allow_unicode=True), encoding="utf-8")
    profiles.configure([folder, profiles.DEFAULT_DIR], db.engine)  # the operator's folder first
    co = Contractor(name="ACME")
    db.session.add(co)
    db.session.flush()
    ct = Contract(code="C-STRICT", contractor_id=co.id, start_month=T0.date().replace(day=1),
                  profile_name="strict", profile_version=1)
    db.session.add(ct)
    db.session.flush()
    db.session.get(Device, inventory["CAM1"]).contract_id = ct.id
    db.session.commit()

    ex = ScriptedExecutor(lambda s, at: not (s in ("CAM1", "CAM2") and at == T0 + 3 * MIN))
    sweeps(ex, 7)
    cam1 = [(i.state, i.start_at, i.end_at) for i in rows(StateInterval, device_id=inventory["CAM1"])]
    assert cam1[1] == ("offline", naive(T0 + 3 * MIN), naive(T0 + 4 * MIN))  # one probe is enough
    assert [i.state for i in rows(StateInterval, device_id=inventory["CAM2"])] == ["ok"]  # default: 3


def test_fast_samples_are_thinned_but_counted(app, inventory):
    """Ok fast probes agreeing with ok are stored every 10 min only; failures, changes and
    the candidate's probes are always stored; rollup probe counts stay exact."""
    set_settings(app, HEALTH_FAST_SAMPLE_EVERY_S=600)
    ex = ScriptedExecutor(switch_outage)
    sweeps(ex, 30)
    kept = dict(db.session.execute(sa.select(ProbeSample.device_id, sa.func.count())
                                   .group_by(ProbeSample.device_id)).all())
    assert kept[inventory["CAM3"]] < 30 / 3
    failed = db.session.scalar(sa.select(sa.func.count()).select_from(ProbeSample).where(
        ProbeSample.device_id == inventory["SW1"], ProbeSample.observed == "offline"))
    assert failed == 7  # every failure kept
    # intervals exactly as without thinning
    sw = rows(StateInterval, device_id=inventory["SW1"])
    assert [(i.state, i.start_at, i.end_at) for i in sw][1] == (
        "offline", naive(T0 + 5 * MIN), naive(T0 + 12 * MIN))
    # replaying minutes 20..25 neither stores nor counts anything twice
    sweeps(ex, 6, start=20)
    now = naive(T0 + 30 * MIN)
    rollup_day(db.session, now.date(), now, HealthRules())
    for dev in inventory.values():
        r = db.session.scalars(sa.select(DailyRollup).filter_by(device_id=dev)).one()
        st = db.session.get(DeviceStatus, dev)
        assert r.probes + st.fast_skipped == 30, (dev, r.probes, st.fast_skipped)


def test_camera_in_another_slice_follows_its_switch_through_the_pipeline(app, inventory):
    """The scheduler spreads a tier over its interval in slices: here the switch is swept
    first and its cameras 30 s later, every minute. The cameras see the switch's stored
    state, so their cause turns from unreachable to upstream once its outage is confirmed;
    that must not restart their count: they go offline after their own 3 probes, like the
    switch, and come back with it."""
    ex = ScriptedExecutor(switch_outage)
    for i in range(16):
        ex.at = T0 + i * MIN
        run_sweep("fast", ["SW1"], executor=ex, clock=lambda: naive(ex.at), settings=current_app.extensions["settings"])
        ex.at = T0 + i * MIN + dt.timedelta(seconds=30)
        run_sweep("fast", ["CAM1", "CAM2"], executor=ex, clock=lambda: naive(ex.at), settings=current_app.extensions["settings"])
    sw = rows(StateEvent, device_id=inventory["SW1"])
    assert [(e.old, e.new) for e in sw] == [("unknown", "ok"), ("ok", "offline"), ("offline", "ok")]
    for cam in ("CAM1", "CAM2"):
        ev = rows(StateEvent, device_id=inventory[cam])
        assert [(e.old, e.new, e.cause) for e in ev] == [
            ("unknown", "ok", None), ("ok", "offline", "upstream"), ("offline", "ok", None)]
        # the outage runs from the camera's first failed probe to its first answer, each
        # 30 s after the switch's: it followed its switch, probe for probe
        ivs = rows(StateInterval, device_id=inventory[cam])
        assert (ivs[1].start_at, ivs[1].end_at) == (naive(T0 + 5 * MIN + dt.timedelta(seconds=30)),
                                                    naive(T0 + 12 * MIN + dt.timedelta(seconds=30)))
        assert ivs[1].state == "offline" and ivs[1].cause == "upstream"


def test_cameras_of_a_dead_nvr_stay_ok_and_say_they_are_not_recorded(app, inventory):
    """The recording link is not a network path: the NVR's fault is the NVR's; its answering
    cameras keep their state and carry "not recorded" as information, never as a finding."""
    from supervisor.inventory.models import Community, Device
    community = db.session.scalars(sa.select(Community)).first()
    nvr = Device(serial="NVR1", name="nvr", kind="nvr", ip="127.30.0.9", community_id=community.id)
    db.session.add(nvr)
    db.session.flush()
    for cam in ("CAM1", "CAM3"):
        db.session.get(Device, inventory[cam]).recorded_by_id = nvr.id
    db.session.commit()
    ex = ScriptedExecutor(lambda serial, at: serial != "NVR1" or at < T0 + 3 * MIN)
    sweeps(ex, 8)
    status = {s.device_id: s for s in rows(DeviceStatus)}
    assert status[nvr.id].state == "offline"
    for cam in ("CAM1", "CAM3"):
        st = status[inventory[cam]]
        assert st.state == "ok" and st.cause is None
        assert [r["code"] for r in st.reasons] == ["not_recorded"]
        assert st.reasons[0]["recorder"] == "NVR1"
        assert not st.faults                        # information is never stored as a finding
    assert status[inventory["CAM2"]].reasons in (None, [])   # not recorded by it
    # The NVR back: the note goes with the next probe of each camera.
    ex.script = lambda serial, at: True
    sweeps(ex, 3, start=8)
    assert all(not (s.reasons or []) for s in rows(DeviceStatus))


def test_the_sweep_holds_no_device_objects_while_it_probes(app, inventory):
    """Every commit expires every object the session holds; a sweep that kept its devices
    in the session paid, at each batch, for the whole city (20,000 devices: ~half of
    the writer's CPU). While results come in, the session holds next to nothing."""
    from supervisor.inventory.models import Device

    with app.app_context():
        community = db.session.scalar(sa.select(Device.community_id).limit(1))
        db.session.execute(sa.insert(Device), [
            {"serial": f"BULK{i:04d}", "name": f"bulk {i}", "kind": "camera", "role": "entrance",
             "ip": f"127.31.{i // 250}.{i % 250 + 1}", "onvif_port": 8080,
             "community_id": community} for i in range(300)])
        db.session.commit()
        db.session.remove()
        held: list[int] = []
        executor = ScriptedExecutor(lambda serial, at: True)
        inner = executor.iter_results

        def watching(targets, tier, limits, deadline_s):
            for res in inner(targets, tier, limits, deadline_s):
                held.append(len(db.session().identity_map))
                yield res
        executor.iter_results = watching
        s = run_sweep("fast", executor=executor, clock=lambda: naive(T0),
                      settings=current_app.extensions["settings"], batch_size=50)
        assert s.devices == 304 and s.ok == 304
        assert len(held) == 304 and max(held) < 20, max(held)
