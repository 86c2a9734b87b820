"""The monthly PDF on the small hand-built world: made by the CLI, its text read back."""
from __future__ import annotations

import subprocess

from tests.reports.world import build


def test_cli_builds_the_pdf(app, runner, tmp_path):
    build()
    out = tmp_path / "m.pdf"
    res = runner.invoke(args=["report", "monthly", "--month", "2026-03", "--pdf", str(out),
                              "--now", "2026-04-05T08:00"])
    assert res.exit_code == 0, res.output
    assert out.read_bytes()[:5] == b"%PDF-"
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert "前端安防设备运行月报" in text
    # City online rate 5,382,000 / 5,400,000 as in test_figures.
    assert "99.6667%" in text
    assert "CT-1" in text
