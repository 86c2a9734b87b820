"""The monthly PDF for a 2,000-device city with six months of history: its text (pdftotext)
carries the same figures as the page and `flask report figures`, Chinese is present, every
character has a glyph in the embedded Noto CJK font, and a page renders to PNG."""
from __future__ import annotations

import datetime as dt
import json
import re
import subprocess

import pytest

from supervisor.core import clock
from supervisor.core.extensions import db
from supervisor.people.accounts import create_user
from tests.reporting.city import build_city

NOW = dt.datetime(2026, 4, 2, 1)          # 04-02 09:00 local: March has ended
NOTO = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"


def _glyphless(text: str) -> set[str]:
    from fontTools.ttLib import TTCollection

    coll = TTCollection(NOTO)
    font = next(f for f in coll.fonts if "SC" in f["name"].getDebugName(1))
    cmap = font.getBestCmap()
    return {ch for ch in text if not ch.isspace() and ord(ch) not in cmap}


def test_monthly_pdf_for_a_city(app, runner, client, tmp_path):
    city = build_city(2000, 6, NOW)
    assert city["devices"] == 2000
    pdf = tmp_path / "city.pdf"
    res = runner.invoke(args=["report", "monthly", "--month", "2026-03", "--pdf", str(pdf),
                              "--now", "2026-04-02T09:00"])
    assert res.exit_code == 0, res.output
    assert "[100%]" in res.output  # progress was shown
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert "前端安防设备运行月报" in text and "合同回款台账" in text and "XL-01" in text
    assert _glyphless(text) == set()
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True).stdout
    assert all("Noto" in line for line in fonts.splitlines()[2:]), fonts

    out = runner.invoke(args=["report", "figures", "--period", "2026-03", "--format", "json",
                              "--now", "2026-04-02T09:00"])
    cli = json.loads(out.output)["rows"][0]
    assert cli["devices"] == 2000
    online, intact = f'{cli["online_rate"] * 100:.4f}%', f'{cli["intact_rate"] * 100:.4f}%'
    first = text.split("二、")[1]  # the month's figures section
    assert online in first and intact in first
    assert f'{cli["measured_s"]}' in text.replace(",", "")
    districts = json.loads(runner.invoke(args=[
        "report", "figures", "--period", "2026-03", "--by", "district", "--format", "json",
        "--now", "2026-04-02T09:00"]).output)["rows"]
    for d in districts:
        rate = re.escape(f"{d['online_rate'] * 100:.4f}%")
        assert re.search(rf"{d['group']}\s+{d['devices']}\s+{rate}", text), d["group"]

    create_user("chief", "chief-pass-123", "police", actor="test")
    db.session.commit()
    page = client.get("/login").get_data(as_text=True)
    from tests.web.conftest import csrf_from
    client.post("/login", data={"username": "chief", "password": "chief-pass-123",
                                "csrf_token": csrf_from(page)})
    with clock.pinned(NOW):
        html = client.get("/reports/?month=2026-03").get_data(as_text=True)
    assert f'id="month-online">{online}' in html

    png = tmp_path / "page"
    subprocess.run(["pdftoppm", "-r", "50", "-png", "-f", "2", "-l", "2", str(pdf), str(png)],
                   check=True)
    shot = next(tmp_path.glob("page*.png"))
    assert shot.stat().st_size > 10_000
