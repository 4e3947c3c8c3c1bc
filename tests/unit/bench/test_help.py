"""Every script in bench/ answers `--help` from the repository root, without services.

Run as a maintainer runs them (`python bench/<name>.py --help`, in a fresh interpreter), so a
new script is held to it the day it lands. What a script imports before it has parsed its
arguments is checked too: a client of a service or Airflow there would make `--help` need
them, and a heavy library would make it slow.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.unit.bench.scripts import BENCH, scripts

ROOT = BENCH.parent
#: Modules that talk to a server or are Airflow: never imported by `--help`.
SERVICES = ("airflow", "adbc_driver_postgresql", "psycopg2", "redis", "httpx", "tests")
#: Heavy libraries (seconds of imports): not imported by `--help` either.
HEAVY = ("pandas", "numpy", "scipy", "sklearn", "isotree", "great_expectations", "modelwatch")
#: Scripts that still import heavy libraries before parsing (owned by other work in progress;
#: they answer `--help`, only slowly). Remove a name when its script moves its imports.
HEAVY_BEFORE_PARSING = {"bench_detect", "bench_logs", "bench_nab"}

#: Runs the script as `python bench/<name>.py --help` does, then reports what it imported.
PROBE = """
import contextlib, io, json, runpy, sys
path = sys.argv[1]
sys.argv = [path, "--help"]
out, code = io.StringIO(), None
try:
    with contextlib.redirect_stdout(out):
        runpy.run_path(path, run_name="__main__")
except SystemExit as exc:
    code = exc.code
roots = sorted({m.split(".")[0] for m in sys.modules})
print(json.dumps({"code": code, "help": out.getvalue(), "modules": roots}))
"""


def test_bench_holds_scripts() -> None:
    assert len(scripts()) >= 5, scripts()


@pytest.mark.parametrize("path", scripts(), ids=lambda p: p.stem)
def test_help_answers_without_services(path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODELWATCH_", "AIRFLOW"))}
    env["PYTHONPATH"] = str(ROOT / "include")
    rel = str(path.relative_to(ROOT))
    done = subprocess.run(
        [sys.executable, "-c", PROBE, rel],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["code"] in (0, None), got
    assert got["help"].startswith("usage:"), got["help"][:200]
    assert "--help" in got["help"]
    loaded = set(got["modules"])
    assert not loaded & set(SERVICES), f"{rel} imports {loaded & set(SERVICES)} before parsing"
    if path.stem not in HEAVY_BEFORE_PARSING:
        assert not loaded & set(HEAVY), f"{rel} imports {loaded & set(HEAVY)} before parsing"
