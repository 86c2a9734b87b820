"""Every page in zh_CN and en, with seeded data that holds every state, cause, finding, image
fault, check, error kind, sweep tier/status/trigger and audit action: no code and no English
sentence may be left on a Chinese page, and no raw code on an English one.

What a page shows as data (names, serials, addresses the fixture typed in) is removed before
the check; what a page deliberately shows raw (the "details" toggle, monospace data cells,
script and style) is not visible text and is skipped.
"""
from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser

import pytest
from sqlalchemy import insert, select

from probes.model import ERROR_KINDS
from supervisor.core import audit, clock
from supervisor.core.choices import IMAGE_FAULTS, DeviceState
from supervisor.core.extensions import db
from supervisor.health.models import DeviceStatus, StateEvent, StateInterval
from supervisor.inventory.models import Community, Contract, Contractor, Device
from supervisor.people.models import User
from supervisor.sweeps.models import SweepRun
from supervisor.web.vocabulary import VOCABULARY

NOW = dt.datetime(2026, 12, 5, 3, 0, 0)

# Every finding a probe can record, with the values a sentence must carry.
FINDINGS = (
    [{"check": "frame", "code": "image_fault", "fault": f, "value": 12.5, "limit": 50.0,
      "severity": "major"} for f in IMAGE_FAULTS]
    + [{"check": "onvif", "code": "clock_drift", "value": 7.25, "limit": 2.0},
       {"check": "onvif", "code": "retention_short", "value": 12.0, "limit": 30.0},
       {"check": "upstream", "code": "upstream_down", "upstream": "SW-A-1"},
       {"check": "onvif", "code": "auth_failed", "kind": "auth", "message": "SOAP fault: NotAuthorized"},
       {"check": "onvif", "code": "not_recording"},
       {"check": "snmp", "code": "poe_fault", "value": [3, 4]},
       {"check": "onvif", "code": "serial_mismatch", "value": "XYZ999"},
       {"check": "snmp", "code": "rebooted", "value": 120.0, "previous": 86000.0},
       {"check": "history", "code": "flapping", "value": 7, "window_s": 3600},
       {"check": "maintenance", "code": "window", "start": "2026-12-04T01:00:00",
        "end": "2026-12-04T03:00:00"},
       {"check": "frame", "code": "frame_corrupt", "message": "JPEG truncated"}]
    + [{"check": check, "code": code, "kind": kind, "message": "raw device text"}
       for check, code in (("onvif", "onvif_failed"), ("snmp", "snmp_failed"),
                           ("frame", "frame_failed")) for kind in ERROR_KINDS]
    + [{"check": "reach", "code": kind, "message": "reach exceeded 2s"} for kind in ERROR_KINDS]
    + [{"check": "batch", "code": "timeout", "message": "batch deadline"}]
)
CAUSES = tuple(VOCABULARY["cause"])
STATES = tuple(DeviceState.values())


def _seed(world) -> dict[str, int]:
    cam = world.alpha_devices[1]
    # one interval per cause (and every state) in the last day, each with every finding
    start = NOW - dt.timedelta(hours=20)
    rows = []
    causes = list(CAUSES) + [None]
    for i, cause in enumerate(causes):
        state = ("offline" if cause in ("unreachable", "upstream", "upstream_down")
                 else "maintenance" if cause in ("maintenance", "window")
                 else STATES[i % len(STATES)] if cause is None else "degraded")
        rows.append({"device_id": cam, "state": state, "cause": cause,
                     "reasons": FINDINGS if i == 0 else FINDINGS[i % len(FINDINGS):][:3],
                     "flapping": i == 3,
                     "start_at": start + dt.timedelta(minutes=30 * i),
                     "end_at": start + dt.timedelta(minutes=30 * (i + 1))})
    rows[-1]["end_at"] = None
    for extra, state in enumerate(STATES):  # each state once more, so every label is drawn
        rows.insert(0, {"device_id": cam, "state": state, "cause": None, "reasons": [],
                        "flapping": False,
                        "start_at": start - dt.timedelta(minutes=10 * (extra + 1)),
                        "end_at": start - dt.timedelta(minutes=10 * extra)})
    db.session.execute(insert(StateInterval), rows)
    db.session.execute(insert(StateEvent), [
        {"device_id": cam, "at": r["start_at"], "old": "ok", "new": r["state"],
         "cause": r["cause"], "reasons": [], "flapping": False} for r in rows])
    # the latest frame's diagnosis: every profile rule with its measure, clause behind details
    from supervisor.health.models import EvidenceFrame
    from supervisor.web.vocabulary import VOCABULARY as V

    rules = [{"fault": "blur", "rule": rule, "measure": measure, "value": 0.7, "threshold": 0.6,
              "op": "above", "severity": "major", "clause": "published VQD products detect …"}
             for rule, measure in zip(V["rule"], V["measure"])]
    db.session.add(EvidenceFrame(device_id=cam, kind="latest", taken_at=NOW, path="x.jpg",
                                 bytes=1000, diagnosis={"faults": rules,
                                                        "measures": {**{m: 0.5 for m in V["measure"]},
                                                                     "noise_u": 0.06}}))
    # current statuses: every state, and faults of every cause across both tenants
    devices = world.alpha_devices + world.beta_devices
    statuses = []
    for i, dev in enumerate(devices):
        cause = CAUSES[i % len(CAUSES)]
        statuses.append({"device_id": dev, "state": "offline" if i % 2 else "degraded",
                         "cause": cause, "since": NOW - dt.timedelta(minutes=3, seconds=34),
                         "reasons": FINDINGS[i::len(devices)], "flapping": i == 2,
                         "faults": list(IMAGE_FAULTS), "candidate_count": 0})
    db.session.execute(insert(DeviceStatus), statuses)
    # sweeps: every tier, status, trigger, executor and failure key
    failures = {f"{check}:{kind}": n + 1 for n, (check, kind) in enumerate(
        (c, k) for c in VOCABULARY["check"] for k in ERROR_KINDS)}
    runs = [(t, s) for t in VOCABULARY["tier"] for s in VOCABULARY["sweep_status"]]
    for i, (tier, status) in enumerate(runs):
        trigger = list(VOCABULARY["trigger"])[i % len(VOCABULARY["trigger"])]
        executor = list(VOCABULARY["executor"])[i % 2]
        db.session.add(SweepRun(tier=tier, trigger=trigger, executor=executor, status=status,
                                started_at=NOW - dt.timedelta(seconds=30 + i),
                                finished_at=None if status == "running" else NOW,
                                devices=8, ok=4, failed=4, failures_by_reason=failures,
                                devices_per_s=2.0))
    # the audit log: every action on every entity, with every field name in the diffs
    fields = list(VOCABULARY["field"])
    before = {f: "a" for f in fields}
    after = {f: "b" for f in fields}
    for action in VOCABULARY["audit_action"]:
        for entity in VOCABULARY["entity"]:
            audit.record("police", action, entity, f"{entity}-1", before, after)
    # a ticket on the camera (its pages, clocks and history), on the contracts' v2 profile
    from supervisor.inventory.models import Contract
    from supervisor.tickets import service as tickets

    for c in db.session.scalars(select(Contract)):
        c.profile_version = 2
    db.session.flush()
    ticket = tickets.open_ticket(db.session, db.session.get(Device, cam), "offline",
                                 NOW - dt.timedelta(hours=3))
    db.session.commit()
    return {"cam": cam, "community": world.alpha_community, "ticket": ticket.id,
            "contract": world.alpha_contract}


@pytest.fixture
def seeded(app, world):
    with clock.pinned(NOW):
        yield _seed(world)


# ---------------------------------------------------------------- visible text

class _Visible(HTMLParser):
    SKIP_TAGS = {"script", "style", "title"}
    SKIP_CLASSES = {"mono", "raw"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[bool] = []
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("br", "img", "input", "meta", "link", "hr", "col", "wbr", "source"):
            return
        classes = set((dict(attrs).get("class") or "").split())
        skip = tag in self.SKIP_TAGS or bool(classes & self.SKIP_CLASSES)
        self.stack.append(skip or (bool(self.stack) and self.stack[-1]))

    def handle_endtag(self, tag):
        if tag in ("br", "img", "input", "meta", "link", "hr", "col", "wbr", "source"):
            return
        if self.stack:
            self.stack.pop()

    def handle_data(self, data):
        if not (self.stack and self.stack[-1]):
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Visible()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def _data_strings() -> list[str]:
    """What the fixture typed in: shown as it is, in any language."""
    out = []
    for d in db.session.scalars(select(Device)):
        out += [d.name, d.serial, d.ip, d.vendor or "", d.model or "", d.username or ""]
    out += [c.name for c in db.session.scalars(select(Community))]
    out += [c.district for c in db.session.scalars(select(Community))]
    out += [c.name for c in db.session.scalars(select(Contractor))]
    out += [c.code for c in db.session.scalars(select(Contract))]
    out += [u.username for u in db.session.scalars(select(User))]
    out += [f"{e}-1" for e in VOCABULARY["entity"]]
    out += ["XYZ999", "test"]  # a serial a device reported; the fixture's actor
    # standard profile keys (default@2) and the working calendar's source (library, version)
    from supervisor.tickets.models import WorkCalendarVersion
    out += ["default"] + [v.source for v in db.session.scalars(select(WorkCalendarVersion))]
    return sorted({s for s in out if s}, key=len, reverse=True)


# Words that are the same in Chinese text: protocol and format names, units, the zone.
SAME_IN_CHINESE = {"ONVIF", "SNMP", "SNMPv3", "PoE", "NVR", "IP", "MAC", "CSV", "XLSX", "JSON",
                   "Asia/Shanghai", "KiB", "Celery", "SHA-256", "English", "SHA", "AES", "v3",
                   "RTSP", "PTZ", "YYYY-MM-DD", "UTC", "MD5", "DES", "SHA-224", "SHA-384",
                   "SHA-512", "AES-192", "AES-256", "2c", "auto", "SLA", "AES128", "AES192",
                   "AES256", "SHA224", "SHA256", "SHA384", "SHA512", "CIDR", "PDF", "Excel", "sha256",
                   "holidays"}  # the last: the library the calendar comes from, by name
WORD = re.compile(r"[A-Za-z][A-Za-z0-9_\-/]+")
UNIT = re.compile(r"(?<=\d)\s?(?:ms|s|m|h|d)\b")


def english_left(html: str) -> list[str]:
    text = visible_text(html)
    for s in _data_strings():
        text = text.replace(s, " ")
    text = text.replace("Asia/Shanghai", " ")
    words = {w for w in WORD.findall(text) if w not in SAME_IN_CHINESE and len(w) > 1}
    # English units after a number ("12.0 s", "3m 34s") are English too
    words |= {u.strip() for u in UNIT.findall(text)}
    return sorted(words)


def raw_codes_left(html: str) -> list[str]:
    """Codes with an underscore or a dash that have a label: on an English page they must
    appear as their label ('image fault'), never as the code ('image_fault')."""
    text = visible_text(html)
    for s in _data_strings():
        text = text.replace(s, " ")
    codes = {c for table in VOCABULARY.values() for c in table if re.search(r"[_\-]", c)}
    codes -= {"SHA-256"}
    return sorted(c for c in codes if re.search(rf"(?<![\w-]){re.escape(c)}(?![\w-])", text))


def pages(ids: dict[str, int]) -> list[str]:
    cam = ids["cam"]
    return ["/devices/", f"/devices/{cam}", f"/devices/{cam}/edit", "/health/faults",
            "/health/faults?state=offline", f"/health/devices/{cam}?span=day",
            f"/health/devices/{cam}?span=week", "/health/sweeps", "/admin/audit",
            "/admin/users", "/admin/users/new", "/admin/maintenance", "/communities/",
            "/import/", "/account/password", "/reports/", f"/communities/{ids['community']}",
            "/devices/?sort=-state&kind=toaster", "/health/faults?sort=cause&state=online",
            "/tickets/", f"/tickets/{ids['ticket']}", "/tickets/summary", "/tickets/new",
            "/tickets/calendar", "/tickets/deliveries",
            f"/acceptance/community/{ids['community']}/runs",
            f"/acceptance/community/{ids['community']}/references",
            "/reports/figures", f"/reports/community/{ids['community']}",
            f"/reports/contract/{ids['contract']}", "/reports/scorecard", "/reports/archive",
            "/reports/evidence", f"/reports/contract/{ids['contract']}/events",
            f"/reports/evidence?community={ids['community']}&start=2026-03-01T00:00"
            "&end=2026-03-02T00:00"]


def _client(as_user, lang: str):
    client = as_user("police")
    client.get(f"/lang/{lang}")
    return client


def test_every_code_has_a_chinese_label(app):
    from flask_babel import force_locale

    with app.test_request_context():
        with force_locale("en"):
            english = {(d, c): str(label) for d, t in VOCABULARY.items() for c, label in t.items()}
        with force_locale("zh_CN"):
            chinese = {(d, c): str(label) for d, t in VOCABULARY.items() for c, label in t.items()}
    untranslated = [key for key, text in english.items()
                    if chinese[key] == text and text not in SAME_IN_CHINESE]
    assert untranslated == []
    assert chinese[("cause", "upstream")] == "上游设备故障" and english[("fault", "too_dark")] == "too dark"


def test_chinese_pages_leave_no_code_and_no_english(app, as_user, seeded):
    client = _client(as_user, "zh_CN")
    problems = {}
    with clock.pinned(NOW):
        for url in pages(seeded):
            response = client.get(url)
            assert response.status_code == 200, url
            html = response.get_data(as_text=True)
            left = english_left(html)
            if left:
                problems[url] = left

    assert problems == {}, problems


def test_english_pages_show_labels_not_codes(app, as_user, seeded):
    client = _client(as_user, "en")
    problems = {}
    with clock.pinned(NOW):
        for url in pages(seeded):
            html = client.get(url).get_data(as_text=True)
            assert 'lang="en"' in html
            left = raw_codes_left(html)
            if left:
                problems[url] = left

    assert problems == {}, problems


def test_findings_read_as_sentences_with_value_and_limit(app, as_user, seeded):
    client = _client(as_user, "zh_CN")
    with clock.pinned(NOW):
        html = client.get(f"/health/devices/{seeded['cam']}?span=day").get_data(as_text=True)
    text = visible_text(html)
    assert "图像故障：模糊（测得 12.5，限值 50）" in text
    assert "时钟偏差 7.25 秒（允许 2 秒）" in text
    assert "上游设备 SW-A-1 离线" in text
    # the raw record stays behind the toggle, never lost
    assert "frame image_fault blur value=12.5 limit=50.0" in html
    assert "<summary>详情</summary>" in html
    # durations the Chinese way, on the faults page too
    with clock.pinned(NOW):
        faults = visible_text(client.get("/health/faults").get_data(as_text=True))
    assert "3分34秒" in faults
    # one local time: the faults' "since" (02:56:26 UTC) reads 10:56 in Asia/Shanghai
    assert "2026-12-05 10:56" in client.get("/health/faults").get_data(as_text=True)
    assert "时间均按 Asia/Shanghai 时区显示" in faults


def test_chinese_chart_uses_plotly_zh_cn(app, as_user, seeded):
    client = _client(as_user, "zh_CN")
    with clock.pinned(NOW):
        html = client.get(f"/health/devices/{seeded['cam']}?span=day").get_data(as_text=True)
    assert "plotly-locale-zh-cn.js" in html and 'data-locale="zh-CN"' in html
    english = _client(as_user, "en")
    with clock.pinned(NOW):
        html = english.get(f"/health/devices/{seeded['cam']}?span=day").get_data(as_text=True)
    assert "plotly-locale-zh-cn.js" not in html and 'data-locale="en"' in html


def test_login_and_import_pages_in_chinese(app, as_user, world):
    """The pages outside the seeded set: the login page, and an import preview that
    rejects a file (problems in the page's language, column names labelled)."""
    import io

    from .conftest import csrf_from
    from .test_import_page import BAD, GOOD

    assert english_left(app.test_client().get("/login").get_data(as_text=True)) == []
    police = _client(as_user, "zh_CN")
    for body in (BAD, GOOD):
        page = police.get("/import/").get_data(as_text=True)
        html = police.post("/import/", data={"csrf_token": csrf_from(page),
                                             "file": (io.BytesIO(body.encode()), "inv.csv")},
                           content_type="multipart/form-data").get_data(as_text=True)
        # the file's own header cells (English here) are data: what the person typed
        headers = GOOD.strip().splitlines()[0].split(",")
        left = [w for w in english_left(html) if w not in headers + ["inv", "csv", "NOPE-9", "toaster"]]
        assert left == [], left


def test_every_image_measure_and_rule_has_a_label(app):
    """The device page names the diagnosis' measures and rules: each one, from the package
    (measures, package rules) and from every shipped profile, has a translated label."""
    from pathlib import Path

    import yaml
    from flask_babel import force_locale

    from probes.quality.thresholds import MEASURES, READINGS, package_rules
    from supervisor.web.vocabulary import VOCABULARY

    rules = set(package_rules())
    for path in (Path(__file__).resolve().parents[2] / "supervisor" / "profiles").glob("*.yaml"):
        rules |= set(yaml.safe_load(path.read_text(encoding="utf-8"))["image_quality"]["rules"])
    assert sorted(set(MEASURES + READINGS) - set(VOCABULARY["measure"])) == []
    assert sorted(rules - set(VOCABULARY["rule"])) == []
    with app.test_request_context(), force_locale("zh_CN"):
        for code in list(MEASURES + READINGS) + sorted(rules):
            kind = "measure" if code in MEASURES + READINGS else "rule"
            text = str(VOCABULARY[kind][code])
            assert any("\u4e00" <= ch <= "\u9fff" for ch in text), (kind, code, text)


def test_every_value_a_diagnosis_records_is_a_measure_a_reading_or_an_uncertainty():
    """The device page lists every value the diagnosis recorded: each is a measure or a
    reading (labelled, above) or the uncertainty of one, shown beside it."""
    import cv2
    import numpy as np
    import skimage.data as skd

    from probes.quality import diagnose
    from probes.quality.thresholds import MEASURES, READINGS

    photo = cv2.cvtColor(skd.astronaut(), cv2.COLOR_RGB2BGR)
    tinted = np.clip(photo * np.array([1.3, 1.0, 0.7]), 0, 255).astype(np.uint8)
    screen = np.full((360, 640, 3), (150, 40, 20), np.uint8)
    seen: set[str] = set()
    for d in (diagnose(photo), diagnose(photo, previous=photo, reference=photo),
              diagnose(tinted, reference=photo), diagnose(screen)):
        seen |= set(d.as_dict()["measures"])
    named = set(MEASURES + READINGS)
    assert sorted(k for k in seen if k not in named and k[:-2] not in named) == []


def test_an_uncertainty_is_shown_beside_its_measure(app, as_user, seeded):
    from supervisor.web.timeline import measure_rows

    rows = measure_rows({"noise": 1.2, "noise_u": 0.06, "brightness": 90.0, "orphan_u": 0.1})
    assert rows == [("brightness", 90.0, None), ("noise", 1.2, 0.06), ("orphan_u", 0.1, None)]
    client = _client(as_user, "en")
    with clock.pinned(NOW):
        html = client.get(f"/health/devices/{seeded['cam']}?span=day").get_data(as_text=True)
    text = visible_text(html)
    assert "0.5 ± 0.06" in text and "noise_u" not in text
