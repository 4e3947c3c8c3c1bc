"""`modelwatch init AIRFLOW_HOME`: make an Airflow home run modelwatch.

    modelwatch init /opt/airflow [--dags-folder DIR] [--pool-slots N] [--force]

Writes the DAG files shipped in the installed package into the home's `dags/` (run it again
after an upgrade: an unchanged file is left alone, one that differs is replaced only with
`--force`), a complete commented settings file `modelwatch.yaml` (every setting at its
default, from config/reference.py; never overwritten, it is the operator's), and creates the
warehouse pool in the home's metadata database when one is configured (an existing pool keeps
its slots). The plugin and the `duckdb` connection type need nothing here: installing the
package registers them. stdout: one line per thing done, then what to set.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

from modelwatch.airflow.pool import NO_METADATA, how_to_create, pool_name
from modelwatch.config import CONFIG_ENV
from modelwatch.config.reference import commented_yaml
from modelwatch.storage import write_atomically

DAG_FILES = ("model_health.py", "model_training.py")
SETTINGS_FILE = "modelwatch.yaml"


def dag_sources() -> dict[str, bytes]:
    """The DAG files of the installed package (package data of `modelwatch.airflow`)."""
    folder = files("modelwatch.airflow") / "dags"
    return {name: (folder / name).read_bytes() for name in DAG_FILES}


def _write(path: Path, data: bytes) -> None:
    """Whole or not at all: the dag-processor may read the folder at any moment."""
    write_atomically(path, lambda f: f.write(data))


def write_dags(folder: Path, force: bool) -> list[str]:
    """The DAG files into `folder`; refuses to replace a file that differs unless `force`."""
    sources = dag_sources()
    differ = [
        folder / name
        for name, data in sources.items()
        if (folder / name).exists() and (folder / name).read_bytes() != data
    ]
    if differ and not force:
        names = ", ".join(str(p) for p in differ)
        raise ValueError(f"{names} differ(s) from this version's DAG files: --force replaces")
    folder.mkdir(parents=True, exist_ok=True)
    done = []
    for name, data in sources.items():
        path = folder / name
        if path.exists() and path.read_bytes() == data:
            done.append(f"unchanged {path}")
            continue
        verb = "replaced" if path.exists() else "wrote"
        _write(path, data)
        done.append(f"{verb} {path}")
    return done


def write_settings(path: Path) -> str:
    """The commented settings file, unless the operator already has one there."""
    if path.exists():
        return f"kept {path} (an existing settings file is never overwritten)"
    _write(path, commented_yaml().encode())
    return f"wrote {path} (every setting at its default, commented out)"


def create_pool(home: Path, slots: int) -> str:
    """The pool, in the metadata database `home` configures, in a process of its own: this
    one's Airflow configuration was read for whatever AIRFLOW_HOME the shell had."""
    name = pool_name()
    done = subprocess.run(
        [sys.executable, "-m", "modelwatch.airflow.pool", name, str(slots)],
        env={**os.environ, "AIRFLOW_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    said = (done.stdout.strip().splitlines() or [done.stderr.strip()[-300:]])[-1]
    if done.returncode == NO_METADATA:
        return (
            f"pool {name} not created: {said} for {home}; after `airflow db migrate` run init "
            f"again, or `{how_to_create(name, slots)}`"
        )
    if done.returncode:
        raise RuntimeError(f"could not create pool {name}: {said}")
    return said


def cmd_init(args: argparse.Namespace) -> int:
    if args.pool_slots < 1:
        raise ValueError(f"--pool-slots must be at least 1, got {args.pool_slots}")
    home = Path(args.home).resolve()
    home.mkdir(parents=True, exist_ok=True)
    dags = Path(args.dags_folder).resolve() if args.dags_folder else home / "dags"
    settings = home / SETTINGS_FILE
    lines = [*write_dags(dags, args.force), write_settings(settings)]
    lines.append(create_pool(home, args.pool_slots))
    lines += [
        "",
        "In every Airflow component (scheduler, dag-processor, workers, API server), set:",
        f"  {CONFIG_ENV}={settings}",
        "  the warehouse connection modelwatch_warehouse (type duckdb or postgres), e.g.",
        "  AIRFLOW_CONN_MODELWATCH_WAREHOUSE=duckdb:///" + str(home / "warehouse.duckdb"),
    ]
    if args.dags_folder:
        lines.append(f"  AIRFLOW__CORE__DAGS_FOLDER={dags}")
    print("\n".join(lines))
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    sp = sub.add_parser(
        "init", help="write the DAGs and a settings file into an Airflow home; create the pool"
    )
    sp.add_argument("home", metavar="AIRFLOW_HOME", help="the Airflow home to set up")
    sp.add_argument("--dags-folder", help="where the DAG files go (default: AIRFLOW_HOME/dags)")
    sp.add_argument(
        "--pool-slots",
        type=int,
        default=1,
        help="slots of a new warehouse pool: 1 for DuckDB (default), e.g. 4 for PostgreSQL",
    )
    sp.add_argument("--force", action="store_true", help="replace DAG files that differ")
    sp.set_defaults(func=cmd_init)
