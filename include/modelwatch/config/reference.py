"""The settings reference, generated from the settings models themselves.

Why: there are about 200 settings, and a reference written by hand drifts from the code. One
walk over `Settings` (`settings()`) yields every setting with its key path, type, bounds,
default and `Field(description=...)`; it is rendered as docs/settings.md (`markdown()`) and as
the commented settings file `modelwatch init` writes (`commented_yaml()`). The tests fail when
a setting has no description or docs/settings.md is not what the models say;
`python -m modelwatch.config.reference` rewrites it.

Defaults are the effective ones: `alerts.anomaly.n` is 2 (the section's default), not the 1 of
`AlertRule` itself. Entries of lists and maps of settings (`alerts.routes[]`,
`alerts.channels.<name>`) are listed with their fields.
"""

from __future__ import annotations

import sys
import textwrap
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Union

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError

from modelwatch.config.settings import Settings

#: Where `python -m modelwatch.config.reference` writes the reference, from the repository root.
DOCS = Path("docs") / "settings.md"
JSON = TypeAdapter(Any)  # any default as plain JSON values (models dumped, tuples as lists)
SCALARS = {int: "integer", float: "number", str: "string", bool: "boolean", datetime: "datetime"}


@dataclass(frozen=True)
class Setting:
    """One setting: `path` as written in docs (`alerts.routes[].match`); `kind` one of
    `value`, `section` (a group of settings), `list` or `map` (of groups: entries)."""

    path: str
    key: str
    depth: int
    kind: str
    type: str
    default: Any
    required: bool
    description: str
    #: Below a list or map: a field of an entry, not a key of the file itself.
    in_entry: bool
    #: A section whose keys, when it is set, default to its class's, not to what is shown.
    partial_note: str = ""
    #: Still accepted, ignored: left out of the commented settings file.
    deprecated: bool = False


def _group(annotation: Any) -> tuple[type[BaseModel] | None, str]:
    """The settings model behind a field, and how: `section`, `list`, `map` or ``."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType) and len(args) == 1:
        return _group(args[0])
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, "section"
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        inner, how = _group(args[0])
        return (inner, "list") if how == "section" else (None, "")
    if origin is dict:
        inner, how = _group(args[1])
        return (inner, "map") if how == "section" else (None, "")
    return None, ""


def type_name(annotation: Any) -> str:
    """A reader's name for a field's type."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation is type(None):
        return "null"
    if origin in (Union, types.UnionType):
        return " or ".join(type_name(a) for a in args)
    if origin is Literal:
        return "one of " + ", ".join(str(a) for a in args)
    if origin in (tuple, list):
        return f"list of {type_name(args[0])}"
    if origin is dict:
        return f"map of {type_name(args[0])} to {type_name(args[1])}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "entry"
    return SCALARS.get(annotation, getattr(annotation, "__name__", str(annotation)))


def bounds(metadata: list[Any]) -> str:
    """A field's bounds and pattern as text (`>= 1, <= 90`)."""
    out = []
    for m in metadata:
        for attr, sign in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            if getattr(m, attr, None) is not None:
                out.append(f"{sign} {getattr(m, attr)}")
        if getattr(m, "pattern", None):
            out.append(f"matches `{m.pattern}`")
    return ", ".join(out)


def settings(model: type[BaseModel] = Settings) -> list[Setting]:
    """Every setting reachable from `model`, parents before their keys, in field order."""
    return list(_walk(model, None, "", 0, False))


def _walk(
    model: type[BaseModel], instance: Any, prefix: str, depth: int, in_entry: bool
) -> Iterator[Setting]:
    for name, f in model.model_fields.items():
        required = f.is_required()
        if instance is not None:
            default = instance.__dict__[name]  # not getattr: no deprecation warning
        else:
            default = None if required else f.get_default(call_default_factory=True)
        inner, how = _group(f.annotation)
        kind = how or "value"
        type_text = ", ".join(t for t in (type_name(f.annotation), bounds(f.metadata)) if t)
        note = ""
        if inner is not None and how == "section" and isinstance(default, BaseModel):
            own = _class_defaults(inner)
            if own is not None and own != default.model_dump(mode="json"):
                note = (
                    f"When you set it, give every key: one left out takes {inner.__name__}'s "
                    f"own default (`{_flow(own)}`), not the one shown."
                )
        yield Setting(
            path=prefix + name,
            key=name,
            depth=depth,
            kind=kind,
            type="section" if kind == "section" else type_text.replace("entry", "entries", 1),
            default=JSON.dump_python(default, mode="json"),
            required=required,
            description=" ".join((f.description or "").split()),
            in_entry=in_entry,
            partial_note=note,
            deprecated=bool(f.deprecated),
        )
        if inner is None:
            continue
        if how == "section":
            yield from _walk(inner, default, f"{prefix}{name}.", depth + 1, in_entry)
        else:
            mark = "[]" if how == "list" else ".<name>"
            yield from _walk(inner, None, f"{prefix}{name}{mark}.", depth + 1, True)


def _class_defaults(model: type[BaseModel]) -> Any:
    """What a section set in a file starts from: its class's defaults (None: a key has none)."""
    try:
        return model().model_dump(mode="json")
    except ValidationError:  # a section with required keys has no class default
        return None


def _flow(value: Any) -> str:
    """A value as YAML on one line (flow style), as it would be written in the file."""
    text = yaml.safe_dump(value, default_flow_style=True, width=10**6, sort_keys=False)
    return text.removesuffix("\n...\n").strip()


# ------------------------------------------------------------------------------- markdown
def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown() -> str:
    """docs/settings.md: one section per top-level group, one table row per setting."""
    all_settings = settings()
    top = [s for s in all_settings if s.depth == 0]
    groups = [s for s in top if s.kind != "value"]
    values = [s for s in top if s.kind == "value"]
    lines = [
        "# Settings reference",
        "",
        "<!-- Generated from the settings models (include/modelwatch/config/) by",
        "`python -m modelwatch.config.reference`; tests/unit/config/test_reference.py fails",
        "when it is stale. Edit the models' descriptions, not this file. -->",
        "",
        "Every setting of modelwatch, read from one YAML file: the one `MODELWATCH_CONFIG` names",
        "(in every Airflow component and for the `modelwatch` command), else the built-in",
        "defaults. Every key is optional: a file only says what differs. An unknown key, a value",
        "of the wrong type or out of its bounds fails the load with the file, the line and the",
        "key path. `modelwatch init` writes this reference as a commented settings file;",
        "`config/modelwatch.yaml` is the demo's.",
        "",
        "`a[].b`: key `b` of each entry of the list `a`; `a.<name>.b`: of each value of the",
        "map `a`. A default `required` must be given whenever its entry is.",
        "",
        "Sections: "
        + ", ".join(f"[{s.key}](#{s.key})" for s in groups)
        + ", [top-level settings](#top-level-settings).",
    ]
    for group in [*groups, None]:
        if group is None:
            rows = values
            lines += ["", "## Top-level settings", ""]
        else:
            rows = [s for s in all_settings if _under(s.path, group.path)]
            lines += ["", f"## {group.key}", "", group.description]
            if group.kind != "section":
                lines += ["", f"Default: `{_flow(group.default)}`."]
            lines.append("")
        lines += ["| key | type | default | description |", "| --- | --- | --- | --- |"]
        for s in rows:
            default = "" if s.kind == "section" else "required" if s.required else _flow(s.default)
            text = " ".join(t for t in (s.description, s.partial_note) if t)
            shown = f"`{_cell(default)}`" if default and default != "required" else default
            lines.append(f"| `{s.path}` | {_cell(s.type)} | {shown} | {_cell(text)} |")
    return "\n".join(lines) + "\n"


def _under(path: str, group: str) -> bool:
    return path.startswith(group + ".") or path.startswith(group + "[")


# ------------------------------------------------------------------ the commented YAML file
HEADER = """\
# modelwatch settings: every setting, at its default, commented out.
#
# Every key is optional: a key left out (as all of them are here) takes its default, the
# value shown. To change one, uncomment it and the section line(s) above it. An unknown key
# is an error, so a typo fails the load. Point MODELWATCH_CONFIG at this file, in every
# Airflow component and for the `modelwatch` command. The same reference: docs/settings.md."""


def commented_yaml(groups: list[str] | None = None, header: bool = True) -> str:
    """The settings file: every key at its default, commented out, each under its
    description. `groups`: only these top-level keys (all by default)."""
    out = [HEADER] if header else []
    root = 0  # the depth of the list or map whose entries are being described
    for s in settings():
        if s.deprecated or (
            groups is not None and s.path.split("[")[0].split(".")[0] not in groups
        ):
            continue
        if s.in_entry:  # an entry's field: described inside a comment, not a key to uncomment
            lead = "# " + "  " * root + "#   " + "  " * (s.depth - root - 1)
            value = "<required>" if s.required else "" if s.kind == "section" else _flow(s.default)
            out += _comment(lead + "# ", s.description)
            out.append(f"{lead}{s.key}:{' ' + value if value else ''}")
            continue
        indent = "  " * s.depth
        if s.depth == 0:
            out.append("")
        out += _comment(f"# {indent}# " if s.depth else "# ", s.description)
        out += _comment(f"# {indent}# ", s.partial_note)
        if s.kind == "section":
            out.append(f"# {indent}{s.key}:")
            continue
        out.append(f"# {indent}{s.key}: {_flow(s.default)}")
        if s.kind in ("list", "map"):
            root = s.depth
            what = "an entry of the list" if s.kind == "list" else "a value of the map (NAME: ...)"
            out.append(f"# {indent}# The keys of {what}:")
    return "\n".join(out).lstrip("\n") + "\n"


def _comment(prefix: str, text: str) -> list[str]:
    width = max(40, 96 - len(prefix))
    return [prefix + line for line in textwrap.wrap(text, width)] if text else []


def main(argv: list[str] | None = None) -> int:
    """Write docs/settings.md (or the path given) from the models."""
    args = sys.argv[1:] if argv is None else argv
    target = Path(args[0]) if args else DOCS
    target.write_text(markdown(), encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
