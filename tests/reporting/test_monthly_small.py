"""The monthly PDF on the small hand-built world: made by the CLI, its text read back."""
from __future__ import annotations

import subprocess

from tests.reporting.world import build


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


def test_regenerating_a_closed_month_gives_the_same_figures(app, runner, tmp_path):
    build()
    args = ["report", "ledger", "--contract", "CT-1", "--close", "2026-03", "--now",
            "2026-04-05T08:00"]
    assert runner.invoke(args=args).exit_code == 0

    def text(now: str) -> str:
        out = tmp_path / f"{now[:10]}.pdf"
        res = runner.invoke(args=["report", "monthly", "--month", "2026-03", "--pdf", str(out),
                                  "--now", now])
        assert res.exit_code == 0, res.output
        body = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True,
                              text=True, check=True).stdout
        return "\n".join(line for line in body.splitlines() if "生成时间" not in line)
    # A month later the same month reads the same, except the open months' lines.
    first, later = text("2026-04-05T08:00"), text("2026-05-20T08:00")
    cut = lambda t: t.split("一、")[1].split("三、")[0]  # noqa: E731  (figures and trend)
    assert cut(first) == cut(later)
    assert "已结账" in later
