"""The benchmark scripts (`bench/*.py`), loaded as modules so their smoke tests can call
`main(argv)` and the pieces they are built from. `bench/` is not a package: each script is
run as a file, so it is loaded from its path here."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parents[3] / "bench"


def scripts() -> list[Path]:
    """Every script in bench/, by name."""
    return sorted(BENCH.glob("*.py"))


def load(name: str) -> ModuleType:
    """bench/<name>.py as a module (loaded once per process)."""
    key = f"bench_script_{name}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, BENCH / f"{name}.py")
        assert spec and spec.loader, name
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        spec.loader.exec_module(module)
    return sys.modules[key]
