"""The layout rules of DESIGN.md: probes/ and simulator/ import nothing of ours."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = {"supervisor", "probes", "reports", "simulator", "app", "bench"}


def _imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", ["probes", "simulator"])
def test_package_imports_nothing_of_ours(package):
    bad = []
    for path in (ROOT / package).rglob("*.py"):
        foreign = (_imported_roots(path) & OURS) - {package}
        if foreign:
            bad.append(f"{path.relative_to(ROOT)} imports {sorted(foreign)}")
    assert not bad, bad


def test_reports_only_reads_models():
    for path in (ROOT / "reports").rglob("*.py"):
        assert not (_imported_roots(path) & {"app", "simulator"}), path
