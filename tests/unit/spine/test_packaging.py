"""pyproject.toml is the one list of dependencies and requirements.txt its lock; the package
carries what an Airflow deployment needs (entry points, DAG files).

- every dependency pyproject declares is pinned in requirements.txt, inside its range;
- nothing is pinned that nothing declares, except the documented transitive pins (below the
  `# --- transitive` line, each with a comment, each required by something pinned above);
- every third-party module the package or the DAGs import is declared (a dependency or an
  extra), so `pip install modelwatch` gives a package that imports;
- the entry points name the plugin and the provider info, and the provider info is valid for
  Airflow's own schema.
"""

from __future__ import annotations

import ast
import functools
import importlib
import importlib.metadata as md
import json
import re
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[3]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]
TRANSITIVE_MARKER = "# --- transitive"
PIN = re.compile(r"^([A-Za-z0-9_.\-\[\]]+)==([^\s#]+)")


def declared() -> dict[str, Requirement]:
    return {canonicalize_name(r.name): r for r in map(Requirement, PROJECT["dependencies"])}


def extras() -> dict[str, Requirement]:
    reqs = [Requirement(r) for group in PROJECT["optional-dependencies"].values() for r in group]
    return {canonicalize_name(r.name): r for r in reqs}


def pins() -> tuple[dict[str, Version], dict[str, Version], dict[str, str]]:
    """requirements.txt: the direct pins, the transitive pins, and each transitive pin's
    comment (the line above it)."""
    direct: dict[str, Version] = {}
    transitive: dict[str, Version] = {}
    why: dict[str, str] = {}
    below = False
    previous = ""
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if line.startswith(TRANSITIVE_MARKER):
            below = True
        m = PIN.match(line)
        if m:
            name = canonicalize_name(m.group(1).split("[")[0])
            (transitive if below else direct)[name] = Version(m.group(2))
            if below:
                why[name] = previous
        previous = line
    return direct, transitive, why


def test_every_declared_dependency_is_pinned_inside_its_range():
    direct, transitive, _ = pins()
    locked = {**direct, **transitive}
    for name, req in declared().items():
        assert name in direct, f"{req} is declared in pyproject.toml but not pinned"
        assert req.specifier.contains(locked[name], prereleases=True), (
            f"requirements.txt pins {name}=={locked[name]}, outside pyproject's {req}"
        )


def requirement_closure(names) -> set[str]:
    """Every distribution the installed `names` require, transitively (with the extras each
    requirement asks for: the Celery provider needs `celery[redis]`)."""
    closure: set[str] = set()
    todo: list[tuple[str, frozenset[str]]] = [(n, frozenset()) for n in names]
    while todo:
        name, wanted = todo.pop()
        if (name, wanted) in closure:
            continue
        closure.add((name, wanted))
        try:
            requires = md.requires(name) or ()
        except md.PackageNotFoundError:
            continue
        for text in requires:
            req = Requirement(text)
            if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in (*wanted, "")):
                todo.append((canonicalize_name(req.name), frozenset(req.extras)))
    return {name for name, _ in closure}


def test_nothing_is_pinned_that_nothing_declares():
    direct, transitive, why = pins()
    assert not set(direct) - set(declared()), "pinned, not declared: move below the marker"
    assert not set(direct) & set(transitive)
    # a transitive pin says why it is there, and something pinned requires it
    closure = requirement_closure(direct)
    for name in transitive:
        assert why[name].startswith("# ") and len(why[name]) > 10, f"{name}: say why it is pinned"
        assert name in closure, f"{name} is pinned as transitive, but nothing pinned requires it"


def test_the_lock_is_what_this_environment_runs():
    """The suite runs on the lock: a pin the venv does not have is a lock nobody tested."""
    direct, transitive, _ = pins()
    for name, version in {**direct, **transitive}.items():
        assert Version(md.version(name)) == version, f"{name}: venv has {md.version(name)}"


def imported_modules() -> dict[str, set[str]]:
    """Third-party modules imported by the package and the DAG files -> where."""
    found: dict[str, set[str]] = {}
    files = [*(ROOT / "include" / "modelwatch").rglob("*.py"), *(ROOT / "dags").glob("*.py")]
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top != "modelwatch":
                    found.setdefault(name, set()).add(path.relative_to(ROOT).as_posix())
    return found


@functools.cache
def packages() -> dict[str, list[str]]:
    """Top-level module -> the distributions providing it (slow to compute: once)."""
    return md.packages_distributions()


def distribution_of(module: str, known: set[str]) -> str | None:
    """The declared distribution that provides `module`, or None."""
    parts = module.split(".")
    if parts[0] == "airflow":
        if parts[1:2] == ["providers"] and len(parts) > 2:
            names = [f"apache-airflow-providers-{'-'.join(parts[2:n])}" for n in (3, 4)]
            return next((n for n in names if n in known), None)
        return "apache-airflow" if "apache-airflow" in known else None
    for dist in packages().get(parts[0], ()):
        if canonicalize_name(dist) in known:
            return canonicalize_name(dist)
    return None


def test_every_third_party_import_is_declared():
    known = set(declared()) | set(extras())
    missing = {
        module: sorted(where)
        for module, where in imported_modules().items()
        if distribution_of(module, known) is None
    }
    assert not missing, f"imported but not declared in pyproject.toml: {missing}"


def entry_point(group: str) -> tuple[str, object]:
    (name, target), *_ = PROJECT["entry-points"][group].items()
    module, _, attr = target.partition(":")
    return name, getattr(importlib.import_module(module), attr)


def test_the_plugin_entry_point_names_the_modelwatch_plugin():
    from airflow.plugins_manager import AirflowPlugin

    name, plugin = entry_point("airflow.plugins")
    assert isinstance(plugin, type) and issubclass(plugin, AirflowPlugin)
    assert name == plugin.name == "modelwatch"


def test_the_provider_info_registers_duckdb_with_its_hook_in_airflows_schema():
    import airflow
    import jsonschema
    from airflow.providers.common.sql.hooks.sql import DbApiHook

    _, get_info = entry_point("apache_airflow_provider")
    info = get_info()
    schema = json.loads((Path(airflow.__file__).parent / "provider_info.schema.json").read_text())
    jsonschema.validate(info, schema)
    # Airflow refuses a provider whose package-name is not the distribution's
    assert info["package-name"] == canonicalize_name(PROJECT["name"])
    (conn,) = info["connection-types"]
    module, _, cls = conn["hook-class-name"].rpartition(".")
    hook = getattr(importlib.import_module(module), cls)
    assert issubclass(hook, DbApiHook)
    assert conn["connection-type"] == hook.conn_type == "duckdb"
    assert conn["hook-name"] == hook.hook_name
    assert hook.default_conn_name == "modelwatch_warehouse"


@pytest.mark.parametrize("name", ["model_health.py", "model_training.py"])
def test_the_dag_files_ship_inside_the_package(name):
    """`modelwatch init` copies them out of the installed package: they are package data of
    `modelwatch.airflow` (dags/ is what include/modelwatch/airflow/dags links to)."""
    from importlib.resources import files

    shipped = files("modelwatch.airflow") / "dags" / name
    assert shipped.read_bytes() == (ROOT / "dags" / name).read_bytes()
    assert "airflow/dags/*.py" in PYPROJECT["tool"]["setuptools"]["package-data"]["modelwatch"]
