"""`python -m bench [NAME ...]` runs the named benchmarks (default: all), each a module
bench/<name>.py with a `main(argv) -> int` that prints its figures as ratios against a
named peer measured in the same run, plus the absolute numbers."""
from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    here = Path(__file__).parent
    names = argv or sorted(m.name for m in pkgutil.iter_modules([str(here)])
                           if not m.name.startswith("_"))
    status = 0
    for name in names:
        print(f"=== bench.{name} ===", flush=True)
        module = importlib.import_module(f"bench.{name}")
        status |= int(module.main([]) or 0)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
