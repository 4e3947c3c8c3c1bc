"""The library's layout stays as docs describe it: no import cycle, every import points down.

Imports are read with `ast`, every one of them: module level, inside functions and under
`TYPE_CHECKING`, because a lazy import that closes a circle is still a circle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[3] / "include" / "modelwatch"

#: Below everything: the input contract, the run, links, connections, config, the warehouse.
SPINE = ("schema", "sharding", "run", "links", "connections", "config", "warehouse")
#: Pipeline stages, lowest first: a stage may import the spine and the stages before it.
STAGES = (
    "ingest",
    "logs",
    "detection",
    "drift",
    "hints",
    "alerting",
    "remediation",
    "evaluation",
    "sim",
    "ui",
)
#: The orchestration on top, in order: the pipeline runs the stages, the Airflow edge runs the
#: pipeline in tasks, the CLI runs the pipeline (and starts Airflow for the demo).
TOP = ("pipeline", "airflow", "cli")
MAX_LINES = 400
MAX_TOP_LEVEL_MODULES = 12


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """Every modelwatch module `name` imports, resolved to a module of the package."""
    found: set[str] = set()
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            targets = [f"{module}.{a.name}" for a in node.names] + [module]
        elif isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target.startswith("modelwatch") and target != name:
                found.add(target)
    return found


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports_of(name, path, known) for name, path in known.items()}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path that ends where it starts, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def layer(name: str) -> tuple[int, int]:
    """(tier, rank): spine 0, stages 1 (ranked), top 2 (ranked); the package root is spine."""
    part = name.split(".")[1] if "." in name else ""
    if part in STAGES:
        return 1, STAGES.index(part)
    if part in TOP:
        return 2, TOP.index(part)
    return 0, 0


def test_the_cycle_finder_finds_a_cycle_it_is_shown() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(edges) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_package_has_no_import_cycle() -> None:
    cycle = find_cycle(graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_every_import_points_down() -> None:
    """Spine modules import only the spine; a stage imports the spine and lower stages; the
    pipeline imports stages, the CLI imports the pipeline, never the other way."""
    upward = [
        f"{src} -> {dst}"
        for src, dsts in graph().items()
        for dst in dsts
        if src.split(".")[:2] != dst.split(".")[:2] and layer(dst) > layer(src)
    ]
    assert not upward, "imports pointing up:\n" + "\n".join(sorted(upward))


def test_every_package_folder_is_a_known_layer() -> None:
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert folders <= set(SPINE) | set(STAGES) | set(TOP)


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: module_name(p))
def test_modules_stay_small(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.name} has {lines} lines: split it by concern"


def test_few_modules_at_the_top_of_the_package() -> None:
    top = [p.name for p in PACKAGE.glob("*.py")]
    assert len(top) <= MAX_TOP_LEVEL_MODULES, top


#: Stages whose decisions are pure cores over frames, and the modules of each that load and
#: save around them (the only ones that may reach a warehouse or Airflow). Every other module
#: of these stages is a core: it imports neither `modelwatch.warehouse` nor Airflow and takes
#: no warehouse argument, so the DAG, a local run, a what-if shadow and a replay share it.
IO_WRAPPERS = {
    "detection": {"tables"},
    "drift": {"tables", "source", "reference", "findings", "plots"},
    "alerting": {"tables", "scope", "silence_table", "listing", "plots", "step", "channels"},
    "hints": {"tables"},
    "remediation": {"outbox", "targets"},
}


def core_modules() -> list[tuple[str, Path]]:
    out = []
    for name, path in modules().items():
        parts = name.split(".")
        if len(parts) > 2 and parts[1] in IO_WRAPPERS and parts[2] not in IO_WRAPPERS[parts[1]]:
            out.append((name, path))
    return out


def test_the_core_list_finds_the_cores() -> None:
    names = {n for n, _ in core_modules()}
    assert {"modelwatch.alerting.pipeline", "modelwatch.drift.calculator"} <= names
    assert not names & {"modelwatch.alerting.tables", "modelwatch.remediation.targets.webhook"}


@pytest.mark.parametrize("name,path", core_modules(), ids=lambda x: x if isinstance(x, str) else "")
def test_stage_cores_neither_read_nor_write_a_warehouse(name: str, path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    reached = sorted(
        target
        for target in imports_of(name, path, modules())
        if target.startswith("modelwatch.warehouse")
    )
    airflow = [
        a.name if isinstance(node, ast.Import) else node.module
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for a in node.names
        if ((a.name if isinstance(node, ast.Import) else node.module) or "").startswith("airflow")
    ]
    takes = [
        f"{fn.name}({arg.arg})"
        for fn in ast.walk(tree)
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
        for arg in [*fn.args.args, *fn.args.kwonlyargs]
        if arg.annotation is not None and "Warehouse" in ast.unparse(arg.annotation)
    ]
    assert not (reached or airflow or takes), f"{name}: {reached} {airflow} {takes}"
