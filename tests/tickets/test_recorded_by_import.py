"""The inventory's optional recorded_by column: imported, validated, exported."""
from sqlalchemy import select

from supervisor.core.extensions import db
from supervisor.inventory.export import export_devices
from supervisor.inventory.importer import apply_plan, parse_upload
from supervisor.inventory.models import Device

HEAD = "community,district,community_type,name,kind,role,serial,ip,upstream,recorded_by,contract,contractor\n"


def test_recorded_by_round_trip(app):
    csv = (HEAD
           + "新村,鼓楼区,open,交换机,switch,,SW9,127.9.0.1,,,C-9,Acme\n"
           + "新村,鼓楼区,open,录像机,nvr,,NVR9,127.9.0.2,SW9,,C-9,Acme\n"
           + "新村,鼓楼区,open,门口,camera,entrance,CAM9,127.9.0.3,SW9,NVR9,C-9,Acme\n").encode()
    plan = parse_upload("t.csv", csv, create_contracts=True)
    assert plan.ok, [str(e) for e in plan.errors]
    apply_plan(plan, "test")
    cam, nvr = (db.session.scalar(select(Device).where(Device.serial == s)) for s in ("CAM9", "NVR9"))
    assert cam.recorded_by_id == nvr.id and cam.upstream.serial == "SW9"
    out = export_devices("csv").decode("utf-8-sig")
    assert "recorded_by" in out.splitlines()[0] and "CAM9" in out and ",NVR9," in out
    bad = parse_upload("t.csv", (HEAD + "新村,鼓楼区,open,门口2,camera,road,CAM8,127.9.0.4,SW9,NOPE,C-9,Acme\n"
                                 + "新村,鼓楼区,open,门口3,camera,road,CAM7,127.9.0.5,SW9,CAM7,C-9,Acme\n").encode(),
                       create_contracts=True)
    msgs = [str(e) for e in bad.errors]
    assert any("unknown recording device 'NOPE'" in m for m in msgs)
    assert any("cannot record itself" in m for m in msgs)
