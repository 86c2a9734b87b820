"""The acceptance certificate: templates/acceptance/certificate.html → PDF (WeasyPrint).

Rendered with plain Jinja2 (no request needed), in Chinese with English beside it, in the
CJK font Debian's fonts-noto-cjk installs. Every device with every check, its evidence
thumbnail (embedded, downscaled), the profile version and content hash, the clauses (listed
once, referenced by number), who ran it, who confirmed each reference, and the dates in
the reporting time zone. The PDF's dates come from the run, not from the rendering time,
so rendering the same run again gives the same bytes. It is archived under
EVIDENCE_DIR/certificates with its sha256 recorded on the run.
"""
from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any, Optional

import sqlalchemy as sa
from sqlalchemy.orm import Session

from supervisor.acceptance.models import AcceptanceResult, AcceptanceRun, ReferenceCandidate
from supervisor.core import localtime
from supervisor.inventory.models import Community, Device

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
CHECK_ZH = {"reach": "在线可达", "onvif": "ONVIF 接口", "identity": "设备身份", "credentials": "非出厂默认密码",
            "stream": "视频码流", "clock": "时钟", "ntp": "NTP 校时", "image": "图像诊断",
            "ptz": "云台", "switch": "交换机端口与 PoE", "recording": "录像与存储天数",
            "speaker": "联动音柱"}
VERDICT_ZH = {"pass": "合格", "fail": "不合格", "n/a": "不适用"}
KIND_ZH = {"camera": "摄像机", "nvr": "录像机", "switch": "交换机", "speaker": "音柱"}
ROLE_ZH = {"entrance": "出入口", "road": "道路", "perimeter": "周界", "high_altitude": "高空抛物",
           "fire_lane": "消防通道", "interior": "楼内"}
TYPE_ZH = {"open": "开放式小区", "closed": "封闭式小区", "single_building": "单栋楼"}


def _thumb(root: Path, rel: Optional[str], width: int = 240) -> Optional[str]:
    if not rel:
        return None
    path = (root / rel).resolve()
    if root.resolve() not in path.parents or not path.exists():
        return None
    import cv2
    import numpy as np
    img = cv2.imdecode(np.frombuffer(path.read_bytes(), np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        return None
    h = max(1, round(img.shape[0] * width / img.shape[1]))
    ok, buf = cv2.imencode(".jpg", cv2.resize(img, (width, h), interpolation=cv2.INTER_AREA),
                           [cv2.IMWRITE_JPEG_QUALITY, 80])
    return "data:image/jpeg;base64," + base64.b64encode(buf.tobytes()).decode() if ok else None


_CATALOG: Any = None


def _zh(text: str) -> str:
    """The zh_CN catalogue's translation of a fixed phrase (values with figures stay)."""
    global _CATALOG
    if _CATALOG is None:
        from babel.support import Translations
        _CATALOG = Translations.load(str(Path(__file__).resolve().parents[1] / "translations"),
                                     ["zh_Hans_CN"])
    return _CATALOG.gettext(text) if text else text


def context(session: Session, run: AcceptanceRun, evidence_dir: Path | str) -> dict[str, Any]:
    root = Path(evidence_dir)
    community = session.get(Community, run.community_id)
    results = list(session.scalars(sa.select(AcceptanceResult).where(
        AcceptanceResult.run_id == run.id).order_by(AcceptanceResult.id)))
    devices = {d.id: d for d in session.scalars(sa.select(Device).where(
        Device.id.in_([r.device_id for r in results])))} if results else {}
    confirmed = {c.device_id: c for c in session.scalars(sa.select(ReferenceCandidate).where(
        ReferenceCandidate.run_id == run.id, ReferenceCandidate.status.in_(("confirmed", "superseded"))))}
    clauses: list[str] = []

    def clause_no(text: str) -> int:
        if text not in clauses:
            clauses.append(text)
        return clauses.index(text) + 1

    rows = []
    for r in results:
        d = devices.get(r.device_id)
        ref = confirmed.get(r.device_id)
        rows.append({
            "name": d.name if d else r.serial, "serial": r.serial,
            "kind": KIND_ZH.get(d.kind, d.kind) if d else "", "role": ROLE_ZH.get(d.role or "", "") if d else "",
            "verdict": r.verdict, "verdict_zh": VERDICT_ZH.get(r.verdict, r.verdict),
            "thumb": _thumb(root, r.frame_path),
            "reference": (f"{ref.decided_by} {localtime.fmt_local(ref.decided_at)}" if ref else None),
            "checks": [{**c, "label": CHECK_ZH.get(c["check"], c["check"]),
                        "measured": _zh(c["measured"]), "required": _zh(c["required"]),
                        "verdict_zh": VERDICT_ZH.get(c["verdict"], c["verdict"]),
                        "clause_no": clause_no(c["clause"]) if c.get("clause") else None}
                       for c in r.checks]})
    cov = run.coverage or {"required": 0, "filled": 0, "slots": []}
    return {"run": run, "community": community, "type_zh": TYPE_ZH.get(community.type, community.type),
            "rows": rows, "clauses": clauses, "coverage": cov, "role_zh": ROLE_ZH,
            "verdict_zh": VERDICT_ZH, "started": localtime.fmt_local(run.started_at, seconds=True),
            "finished": localtime.fmt_local(run.finished_at, seconds=True),
            "zone": localtime.zone_name(),
            "iso_date": (run.finished_at or run.started_at).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "passed": sum(1 for r in rows if r["verdict"] == "pass"), "total": len(rows)}


def render_html(session: Session, run: AcceptanceRun, evidence_dir: Path | str) -> str:
    import jinja2
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                             autoescape=jinja2.select_autoescape(["html"]))
    return env.get_template("acceptance/certificate.html").render(
        **context(session, run, evidence_dir))


def render_pdf(session: Session, run: AcceptanceRun, evidence_dir: Path | str) -> bytes:
    from weasyprint import HTML
    html = render_html(session, run, evidence_dir)
    # The identifier is derived from the run, so the same run renders to the same bytes.
    ident = hashlib.sha256(f"acceptance-{run.id}-{run.profile_sha256}".encode()).hexdigest()[:32]
    return HTML(string=html, base_url=str(TEMPLATES)).write_pdf(
        pdf_identifier=ident.encode(), uncompressed_pdf=False)


def ensure_certificate(session: Session, run: AcceptanceRun, evidence_dir: Path | str,
                       regenerate: bool = False) -> tuple[Path, str]:
    """The archived PDF (made on first request) and its sha256. An archived file whose
    checksum no longer matches is made again from the stored run (and the mismatch kept
    in the run's error field for the record)."""
    folder = Path(evidence_dir) / "certificates"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"acceptance-{run.id}.pdf"
    if path.exists() and run.certificate_sha256 and not regenerate:
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
        if sha == run.certificate_sha256:
            return path, sha
        run.error = f"archived certificate checksum mismatch ({sha[:12]}), made again"[:500]
    data = render_pdf(session, run, evidence_dir)
    tmp = path.with_suffix(".part")
    tmp.write_bytes(data)
    tmp.replace(path)
    sha = hashlib.sha256(data).hexdigest()
    run.certificate_path = str(path.relative_to(Path(evidence_dir)))
    run.certificate_sha256 = sha
    session.commit()
    return path, sha
