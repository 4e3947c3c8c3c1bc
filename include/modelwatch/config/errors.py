"""Config errors a person can act on: the file, the key path and, in YAML, the line.

Pydantic reports every problem of a file at once, with a location inside the data
(`('alerts', 'receivers', 1)`); a YAML parser reports a position in the text. Both become one
line per problem, `FILE:LINE: key.path: message`, like a compiler's errors, so an editor or a
grep jumps to the spot. The line of a key path is looked up in the composed YAML node tree,
which keeps every node's position.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import yaml
from pydantic import ValidationError

Loc = tuple[str | int, ...]


class ConfigError(ValueError):
    """The config file is missing, unreadable or invalid: one line per problem."""

    def __init__(self, problems: str | Sequence[str]) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


def key_path(loc: Loc) -> str:
    """`('overrides', 0, 'match')` -> `overrides[0].match`."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def one_line(text: str) -> str:
    """A message on one line (a nested validation error spans several)."""
    return " ".join(str(text).split())


def line_of(root: yaml.Node | None, loc: Loc) -> int | None:
    """The 1-based line of the deepest node of `loc` that the document has (a missing key:
    the line of its parent mapping), or None without a document."""
    node, line = root, None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            hit = next((kv for kv in node.value if kv[0].value == str(part)), None)
            if hit is None:
                break
            line, node = hit[0].start_mark.line + 1, hit[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if not 0 <= part < len(node.value):
                break
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    if line is None and root is not None:
        line = root.start_mark.line + 1
    return line


def compose(text: str) -> yaml.Node | None:
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None


def problem_line(path: Path, root: yaml.Node | None, loc: Loc, message: str) -> str:
    line = line_of(root, loc) if loc else None
    where = f"{path}:{line}" if line else str(path)
    return f"{where}: {key_path(loc)}: {one_line(message)}" if loc else f"{where}: {message}"


def validation_problems(path: Path, text: str, exc: ValidationError) -> list[str]:
    """One line per pydantic error, with the line of its key in the file, in file order."""
    root = compose(text)
    found = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if isinstance(p, (str, int)))
        msg = str(err["msg"]).removeprefix("Value error, ")
        found.append((line_of(root, loc) or 0, problem_line(path, root, loc, msg)))
    return [line for _, line in sorted(found, key=lambda t: t[0])]


def located_problems(path: Path, text: str, problems: Iterable[tuple[Loc, str]]) -> list[str]:
    """The cross-checks' problems (key path, message), with their lines in the file."""
    root = compose(text)
    return [problem_line(path, root, loc, msg) for loc, msg in problems]


def yaml_problem(path: Path, exc: yaml.YAMLError) -> str:
    """A parser error as `FILE:LINE: not valid YAML: what`."""
    mark = getattr(exc, "problem_mark", None)
    where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
    what = " ".join(
        str(p) for p in (getattr(exc, "context", None), getattr(exc, "problem", None)) if p
    )
    return f"{where}: not valid YAML: {one_line(what or str(exc))}"
