"""Lists and forms that help: invalid filter values named, MAC search in any form, counts and
online rate above the device list, the faults export in the page's language and named by
cause and date, the edit page's warnings and connection test, the favicon."""
from __future__ import annotations

import csv
import io
import re
import urllib.parse

from sqlalchemy import insert

from supervisor.core.extensions import db
from supervisor.health.models import DeviceStatus
from supervisor.inventory.models import Device

from .conftest import csrf_from


def _statuses(world):
    a = world.alpha_devices
    b = world.beta_devices
    rows = [(a[0], "offline", "unreachable"), (a[1], "offline", "upstream"),
            (a[2], "degraded", "image_fault"), (a[3], "ok", None), (b[1], "degraded", "clock_drift")]
    db.session.execute(insert(DeviceStatus), [
        {"device_id": d, "state": s, "cause": c, "flapping": False, "candidate_count": 0,
         "reasons": [{"check": "frame", "code": "image_fault", "fault": "blur", "value": 3.0,
                      "limit": 50.0}] if c == "image_fault" else [],
         "faults": ["blur"] if c == "image_fault" else []} for d, s, c in rows])
    db.session.commit()


def test_invalid_filter_values_are_named_not_ignored(as_user, world):
    police = as_user("police")
    html = police.get("/health/faults?state=online&kind=camera").get_data(as_text=True)
    assert 'id="invalid-filters"' in html and "online" in html
    assert re.search(r"<b>状态</b> = <span class=\"mono\">online</span>", html)
    assert "<b>类型</b>" not in html  # a valid value is not reported
    html = police.get("/devices/?kind=toaster&community=abc").get_data(as_text=True)
    assert "toaster" in html and "abc" in html and 'id="invalid-filters"' in html
    assert 'id="invalid-filters"' not in police.get("/devices/?kind=camera").get_data(as_text=True)


def test_mac_search_in_any_common_form(as_user, world):
    cam = db.session.get(Device, world.alpha_devices[1])
    cam.mac = "44:19:b6:fc:8f:7a"
    db.session.commit()
    police = as_user("police")
    for form in ("44-19-B6-FC-8F-7A", "4419.b6fc.8f7a", "4419B6FC8F7A", "44:19:b6:fc:8f:7a",
                 "44-19-B6"):
        html = police.get("/devices/?q=" + urllib.parse.quote(form)).get_data(as_text=True)
        assert "CAM-A-0" in html and "CAM-A-1" not in html, form
    # an IP fragment is still an IP search, not a MAC
    html = police.get("/devices/?q=127.0.10.1").get_data(as_text=True)
    assert "SW-A-1" in html


def test_device_list_counts_by_state_and_online_rate(as_user, world):
    _statuses(world)
    html = as_user("alpha").get("/devices/").get_data(as_text=True)
    summary = re.search(r'<p class="summary" id="summary">(.*?)</p>', html, re.S).group(1)
    counts = dict(re.findall(r'data-state="(\w+)">(\d+)<', summary))
    assert counts == {"ok": "1", "degraded": "1", "offline": "2"}
    # answering (ok or degraded) of those probed: 2 of 4
    assert re.search(r'id="online-rate">50\.0 %<', summary)


def test_faults_export_speaks_the_page_language_and_names_cause_and_date(as_user, world):
    _statuses(world)
    alpha = as_user("alpha")
    response = alpha.get("/health/faults.csv?cause=image_fault")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["设备", "序列号", "类型"] and "原因" in rows[0]
    assert [r[1] for r in rows[1:]] == ["CAM-A-1"]
    assert "图像故障" in rows[1] and "降级" in rows[1]
    assert "图像故障：模糊（测得 3，限值 50）" in rows[1][-1]
    disposition = urllib.parse.unquote(response.headers["Content-Disposition"])
    assert re.search(r"故障-图像故障-\d{4}-\d{2}-\d{2}\.csv", disposition), disposition
    # scoped: beta's degraded camera is not in alpha's export
    everything = alpha.get("/health/faults.csv").data.decode("utf-8-sig")
    assert "CAM-B-0" not in everything and "CAM-A-0" in everything
    alpha.get("/lang/en")
    english = alpha.get("/health/faults.csv").data.decode("utf-8-sig")
    assert english.splitlines()[0].startswith("Device,Serial,Kind")


def test_edit_warns_of_a_shared_address_and_tests_the_connection(as_user, world):
    police = as_user("police")
    url = f"/devices/{world.alpha_devices[2]}/edit"
    page = police.get(url).get_data(as_text=True)
    form = {"csrf_token": csrf_from(page), "name": "a-camera-1", "role": "road", "ip": "127.0.10.10",
            "onvif_port": "8000", "snmp_port": "", "username": "admin", "password": "New-pw-123",
            "snmp_version": "2c", "lifecycle": "installed", "vendor": "", "model": ""}
    response = police.post(url, data=form)
    assert response.status_code == 302
    html = police.get(response.headers["Location"]).get_data(as_text=True)
    flashes = re.findall(r'<p class="flash">([^<]*)</p>', html)
    assert any("127.0.10.10 也是 a-camera-0" in f for f in flashes), flashes
    assert any(f.startswith("连接测试：") for f in flashes), flashes  # saved, then tested
    db.session.expire_all()
    assert db.session.get(Device, world.alpha_devices[2]).ip == "127.0.10.10"  # the save stands
    assert 'id="ip-shared"' in police.get(url).get_data(as_text=True)


def test_every_field_error_at_once(as_user, world):
    police = as_user("police")
    url = f"/devices/{world.alpha_devices[2]}/edit"
    page = police.get(url).get_data(as_text=True)
    response = police.post(url, data={"csrf_token": csrf_from(page), "name": "", "ip": "300.1.1.1",
                                      "onvif_port": "99999", "snmp_version": "3",
                                      "lifecycle": "installed"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and 'id="form-errors"' in html
    summary = re.search(r'id="form-errors">(.*?)</p>', html, re.S).group(1)
    for field in ("name", "ip", "onvif_port", "snmp_user"):
        assert f'href="#{field}"' in summary, field


def test_favicon_is_linked_and_served(app, as_user, world):
    html = as_user("police").get("/devices/").get_data(as_text=True)
    href = re.search(r'<link rel="icon" type="image/svg\+xml" href="([^"]+)"', html).group(1)
    icon = app.test_client().get(href)
    assert icon.status_code == 200 and b"<svg" in icon.data
    asked = app.test_client().get("/favicon.ico", follow_redirects=True)  # what browsers ask
    assert asked.status_code == 200 and b"<svg" in asked.data


def test_import_errors_in_the_page_language_name_the_checkbox(as_user, world):
    from .test_import_page import HEADER

    police = as_user("police")
    page = police.get("/import/").get_data(as_text=True)
    body = (HEADER + "\n阳光小区,东城区,open,cam,camera,road,Hik,DS-1,NEW-X-1,,300.1.1.1,80,,,,,,"
            "CT-NOPE,2026-02-01\n").encode("utf-8")
    response = police.post("/import/", data={"csrf_token": csrf_from(page),
                                             "file": (io.BytesIO(body), "inv.csv")},
                           content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "300.1.1.1 不是 IP 地址" in html
    assert "未知合同 CT-NOPE：请先创建，或在导入页勾选“创建文件中未登记的合同”" in html
    assert "创建文件中未登记的合同" in page  # the box the message names is on the page


def test_column_sort_on_devices_and_faults(as_user, world):
    _statuses(world)
    police = as_user("police")
    html = police.get("/devices/?sort=-serial&size=25").get_data(as_text=True)
    serials = re.findall(r'<td data-label="[^"]*" class="mono">((?:SW|CAM)-[AB]-\d)</td>', html)
    assert serials == sorted(serials, reverse=True) and len(serials) == 8
    assert 'aria-sort="descending"' in html and "第 1 页，共 1 页" in html
    # the header link turns the order round; filters keep the sort
    assert 'href="/devices/?sort=serial' in html
    html = police.get("/devices/?sort=serial&kind=camera&size=25").get_data(as_text=True)
    serials = re.findall(r'<td data-label="[^"]*" class="mono">((?:SW|CAM)-[AB]-\d)</td>', html)
    assert serials == ["CAM-A-0", "CAM-A-1", "CAM-A-2", "CAM-B-0", "CAM-B-1", "CAM-B-2"]
    # page numbers when sorted
    html = police.get("/devices/?sort=serial&size=25&page=1").get_data(as_text=True)
    assert 'rel="next"' not in html
    # faults by cause
    html = police.get("/health/faults?sort=cause").get_data(as_text=True)
    causes = re.findall(r'<td data-label="原因">([^<]*)</td>', html)
    assert causes == ["时钟偏差", "图像故障", "不可达", "上游设备故障"]  # clock_drift < image_fault < unreachable < upstream
    bad = police.get("/devices/?sort=password").get_data(as_text=True)
    assert 'id="invalid-filters"' in bad and "password" in bad


def test_audit_export_on_a_chinese_page_speaks_chinese(as_user, world):
    police = as_user("police")  # Chinese by default
    body = police.get("/admin/audit.csv?action=login").data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][:6] == ["编号", "时间（UTC）", "时间（Asia/Shanghai）", "操作人", "操作", "对象类型"]
    assert rows[1][4:6] == ["登录", "用户"]


def test_probe_now_is_scoped_audited_and_says_what_it_saw(as_user, world):
    from sqlalchemy import select

    from supervisor.core.models import AuditEntry

    alpha = as_user("alpha")
    page = alpha.get(f"/devices/{world.alpha_devices[1]}").get_data(as_text=True)
    token = csrf_from(page)
    assert 'id="probe-now"' in page
    # another tenant's device: 404, nothing probed, nothing audited
    assert alpha.post(f"/health/devices/{world.beta_devices[1]}/probe",
                      data={"csrf_token": token}).status_code == 404
    official = as_user("official")
    own_token = csrf_from(official.get("/reports/").get_data(as_text=True))
    assert official.post(f"/health/devices/{world.alpha_devices[1]}/probe",
                         data={"csrf_token": own_token}).status_code == 403
    assert alpha.post(f"/health/devices/{world.alpha_devices[1]}/probe",
                      data={}).status_code == 400  # no CSRF token
    # its own camera (nothing listens at its address): a full and a frame probe, both say so
    response = alpha.post(f"/health/devices/{world.alpha_devices[1]}/probe",
                          data={"csrf_token": token, "next": "https://evil.example/"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/devices/{world.alpha_devices[1]}")
    html = alpha.get(response.headers["Location"]).get_data(as_text=True)
    said = re.search(r'<p class="flash">([^<]*)</p>', html).group(1)
    assert said.startswith("立即探测结果：完整（ONVIF、SNMP）：") and "画面（测试图像）：" in said
    assert "离线" in said
    db.session.expire_all()
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "probe")).all()
    assert [(e.actor, e.entity_key) for e in entries] == [("alpha", "CAM-A-0")]
