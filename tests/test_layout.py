"""The layout rules (docs/ARCHITECTURE.md, "Rooms and their import rules"), checked on the
source: who may import whom, where Flask may appear, and that supervisor/ keeps its rooms."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = {"supervisor", "probes", "reports", "simulator", "app", "bench", "tests"}
FLASK_ROOTS = {"flask", "flask_login", "flask_babel", "flask_wtf", "flask_limiter",
               "flask_migrate", "flask_sqlalchemy", "werkzeug"}
# Where Flask may be imported inside supervisor/: the pages, the CLI commands, the demo that
# serves the pages, the extension objects, and the scheduler service (it runs each job inside
# the app's context so the jobs' database session is the app's).
FLASK_ALLOWED = ("supervisor/web/", "supervisor/demo/", "supervisor/core/extensions.py",
                 "supervisor/sweeps/scheduler.py")


def _imports(path: Path) -> set[str]:
    """Every module imported by a file, dotted, absolute (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            found |= {f"{module}.{a.name}" for a in node.names}
    return found


def _roots(path: Path) -> set[str]:
    return {m.split(".")[0] for m in _imports(path)}


def _files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", ["probes", "simulator"])
def test_probes_and_simulator_import_nothing_of_ours(package):
    bad = [f"{p.relative_to(ROOT)} imports {sorted((_roots(p) & OURS) - {package})}"
           for p in _files(package) if (_roots(p) & OURS) - {package}]
    assert not bad, bad


def test_supervisor_never_imports_app_bench_simulator_or_tests():
    bad = [f"{p.relative_to(ROOT)} imports {sorted(_roots(p) & {'app', 'bench', 'simulator', 'tests'})}"
           for p in _files("supervisor") if _roots(p) & {"app", "bench", "simulator", "tests"}]
    assert not bad, bad


def test_domain_modules_import_no_flask():
    bad = []
    for path in _files("supervisor"):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(FLASK_ALLOWED) or path.name == "cli.py":
            continue
        flask = _roots(path) & FLASK_ROOTS
        if flask:
            bad.append(f"{rel} imports {sorted(flask)}")
    assert not bad, bad


def test_reports_read_only_the_models():
    allowed = {"supervisor.models", "supervisor.core.localtime", "supervisor.core.clock"}
    bad = []
    for path in _files("reports"):
        ours = {m for m in _imports(path) if m.split(".")[0] in OURS - {"reports"}}
        # `from supervisor.models import X` shows as both the module and module.X
        wrong = {m for m in ours if not any(m == a or m.startswith(a + ".") for a in allowed)}
        if wrong:
            bad.append(f"{path.relative_to(ROOT)} imports {sorted(wrong)}")
    assert not bad, bad


def test_supervisor_has_rooms_not_a_flat_top_level():
    """Modules live in their domain package; the top level holds only the package marker and
    the table gatherer."""
    flat = sorted(p.name for p in (ROOT / "supervisor").glob("*.py"))
    assert flat == ["__init__.py", "models.py"], flat


def test_every_package_says_what_it_holds_and_may_import():
    bad = []
    for init in (ROOT / "supervisor").glob("*/__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
        if "May import" not in doc:
            bad.append(init.parent.name)
    assert not bad, f"packages without a 'May import' line in their docstring: {bad}"


def test_no_test_package_shadows_our_packages():
    """A tests/<name>/__init__.py puts tests/ on sys.path, so `import <name>` would find the
    test package instead of ours."""
    shadows = [d.name for d in (ROOT / "tests").iterdir()
               if (d / "__init__.py").exists() and d.name in OURS | {"supervisor"}]
    assert not shadows, shadows


# Which domain packages each package's logic may use (any package may read any package's
# `models`: the tables are one schema). The order is the data's flow: inventory → health →
# sweeps → tickets/acceptance → reporting; pages, the demo and the CLI wiring sit on top.
MAY_USE = {
    "core": {"core"},
    "people": {"core", "people"},
    "profiles": {"core", "profiles"},
    "inventory": {"core", "profiles", "inventory"},
    "health": {"core", "profiles", "inventory", "health"},
    "sweeps": {"core", "profiles", "inventory", "health", "sweeps"},
    "notifications": {"core", "notifications"},
    "tickets": {"core", "profiles", "inventory", "health", "sweeps", "notifications", "tickets"},
    "acceptance": {"core", "profiles", "inventory", "health", "sweeps", "tickets", "acceptance"},
    "reporting": {"core", "profiles", "inventory", "health", "sweeps", "tickets", "acceptance",
                  "reporting"},
}
# A section of the standard profile is validated by the package that owns its meaning.
SECTION_OWNERS = {("supervisor/profiles/schema.py", "tickets")}


def test_domain_packages_use_only_what_comes_before_them():
    bad = []
    for package, allowed in MAY_USE.items():
        for path in _files(f"supervisor/{package}"):
            rel = path.relative_to(ROOT).as_posix()
            for module in _imports(path):
                parts = module.split(".")
                if parts[0] != "supervisor" or len(parts) < 2 or parts[1] == "models":
                    continue
                used = parts[1]
                if used in allowed or (len(parts) > 2 and parts[2] == "models"):
                    continue
                if (rel, used) in SECTION_OWNERS or used not in MAY_USE:
                    if used in ("web", "demo"):
                        bad.append(f"{rel} uses supervisor.{used}")
                    continue
                bad.append(f"{rel} uses supervisor.{used} ({module})")
    assert not sorted(set(bad)), sorted(set(bad))
