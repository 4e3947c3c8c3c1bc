"""The docs describe the product as it is, and the repository reads as a product, not a notebook.

Lab-notebook lines (`NOTEBOOK`) are refused in README.md, docs/ (decision records included),
and the comments, docstrings and SQL of include/, dags/ and bench/. The rule, pattern by
pattern:

- "issue #N" / "issue N", "PR #N": the reader has no tracker; say what the code does and why.
- "stop N" (a work session's number), "this machine", "our machine", "this session": name a
  machine by its kind ("2 cores, 24 GiB").
- `git worktree`: a recipe for comparing checkouts is a measurement's method; the decision
  record says what was compared, the benchmark runs one tree.
- A commit hash. Hex words are everywhere (digests, ids in test data, numbers), so the pattern is
  narrow: a word of 7-40 characters from [0-9a-f] holding at least one digit and one letter
  (so neither a number nor an English word), standing alone (not inside a UUID or a longer id),
  and either right after one of "commit", "at", "since", "before", "after", "from",
  "alternating", "checkout", "revision", "rev" (up to three words before it, other hex words
  and "and" included, so "alternating 1a2b3c4 and 5d6e7f8" counts both), or in the first cell
  of a Markdown table row. A 64-character sha256 in docs/settings.md or a digest in prose
  passes. Date a measurement instead ("2026-12-05").

Narratives of how the code changed ("previously", "used to", "now") cannot be told from honest
prose by a pattern; the reviews catch those. The other tests keep the docs true to the code:
every path and `modelwatch.` name a reference doc gives exists, every relative link and its
anchor resolves (and every doc heading the code points a reader to), every table the
migrations create is in docs/data.md, every script in bench/ has its place in
docs/benchmarks.md, and every decision record is dated and numbered once.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = ROOT / "include" / "modelwatch"
DOCS = ROOT / "docs"
DECISIONS = DOCS / "decisions"


def prose_files() -> list[Path]:
    """README, every doc and decision record, and the code whose comments must read clean."""
    files = [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]
    for pattern in ("include/**/*.py", "include/**/*.sql", "dags/*.py", "bench/**/*.py"):
        files += sorted(ROOT.glob(pattern))
    return files


#: One label per kind of lab-notebook line, and its pattern (case-insensitive).
NOTEBOOK = {
    "issue number": r"\bissues?\s*#?\s*\d+\b|\bPR\s*#\d+",
    "work-session number": r"\bstop\s+\d+\b",
    "this machine or session": r"\b(?:this|our)\s+(?:[\w'-]+\s+){0,3}?(?:machine|session)s?\b",
    "worktree recipe": r"\bgit\s+worktree\b|\bworktree\s+add\b",
}
HEX = r"(?<![\w-])(?=[0-9a-f]*[0-9])(?=[0-9a-f]*[a-f])[0-9a-f]{7,40}(?![\w-])"
HEX_CONTEXT = re.compile(
    r"\b(?:commit|commits|at|since|before|after|from|alternating|checkout|revision|rev)\b"
    r"(?:[\s,;:/()]+(?:and|[0-9a-f]{7,40}))*[\s,;:/()]+" + HEX
)
HEX_WORD = re.compile(HEX)


def notebook_lines(text: str) -> list[tuple[int, str, str]]:
    """(line number, kind, line) for every lab-notebook line of `text`."""
    found = []
    for n, line in enumerate(text.splitlines(), 1):
        for kind, pattern in NOTEBOOK.items():
            if re.search(pattern, line, re.IGNORECASE):
                found.append((n, kind, line.strip()))
        first_cell = line.split("|")[1] if line.lstrip().startswith("|") else ""
        if HEX_CONTEXT.search(line) or HEX_WORD.search(first_cell):
            found.append((n, "commit hash", line.strip()))
    return found


@pytest.mark.parametrize(
    "text",
    [
        "measured at 1a2b3c4 on two cores",
        "| 55422ae | 1,327.7 s |",
        "alternating 44f02bc and 6dd8120",
        "Before issue #16 it paged for a week",
        "another machine (stop 25)",
        "this session's machine",
        "on this project's idle 2-core machine",
        "git worktree add --detach /tmp/x f62154a",
    ],
)
def test_the_patterns_catch_lab_notebook_lines(text: str) -> None:
    assert notebook_lines(text), text


@pytest.mark.parametrize(
    "text",
    [
        "the settings digest 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "a file's name is the model id's prefix and sha256, e.g. model-000-3f2a9c1d0e",
        "request 550e8400-e29b-41d4-a716-446655440000 retried",
        "| fold | tune on | score |",
        "measured 2026-12-05 on 2 cores, 24 GiB",
        "float noise, 0.3 then 0.3000001",
        "stop = min(first + width, last)",
    ],
)
def test_the_patterns_pass_honest_prose(text: str) -> None:
    assert not notebook_lines(text), text


def test_no_lab_notebook_lines() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{n}: {kind}: {line}"
        for path in prose_files()
        for n, kind, line in notebook_lines(path.read_text(encoding="utf-8"))
    ]
    assert not found, "lab-notebook lines:\n" + "\n".join(found)


def reference_docs() -> list[Path]:
    """The docs that describe the system as it is (decision records are history; settings.md
    is generated from the code)."""
    return [
        ROOT / "README.md",
        *(p for p in sorted(DOCS.glob("*.md")) if p.name != "settings.md"),
    ]


PATH = re.compile(r"`((?:[\w.-]+/)+[\w.-]+\.(?:py|sql|yaml|yml|json|md|sh|toml|txt))(?:::\w+)?`")
DOTTED = re.compile(r"`(modelwatch(?:\.\w+)+)")


def path_exists(path: str) -> bool:
    """A repository path, or one relative to the package (`detection/score.py`)."""
    return any((base / path).exists() for base in (ROOT, PACKAGE, ROOT / "include"))


def name_exists(dotted: str) -> bool:
    """`modelwatch.a.b[.attr]`: a module of the package, or a name defined in one."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        base = ROOT / "include" / Path(*parts[:i])
        for module in (base.with_suffix(".py"), base / "__init__.py"):
            if module.exists():
                if i == len(parts):
                    return True
                name = re.escape(parts[i])
                defined = rf"^\s*(?:def|class)\s+{name}\b|^\s*{name}\s*[:=]|\bimport\b.*\b{name}\b"
                return re.search(defined, module.read_text(encoding="utf-8"), re.M) is not None
    return False


def test_every_path_and_name_the_docs_give_exists() -> None:
    missing = []
    for doc in reference_docs():
        for n, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1):
            for path in PATH.findall(line):
                placeholder = re.match(r"[A-Z_]+/", path)  # AIRFLOW_HOME/...
                if not path.startswith(("/", "..")) and not placeholder and not path_exists(path):
                    missing.append(f"{doc.relative_to(ROOT)}:{n}: {path}")
            for dotted in DOTTED.findall(line):
                if not name_exists(dotted):
                    missing.append(f"{doc.relative_to(ROOT)}:{n}: {dotted}")
    assert not missing, "named in the docs, not in the code:\n" + "\n".join(missing)


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(doc: Path) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    in_code = False
    for line in doc.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_code = not in_code
        if in_code or not line.startswith("#"):
            continue
        base = slug(line.lstrip("#"))
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    return out


LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_every_relative_link_and_anchor_resolves() -> None:
    broken = []
    for doc in [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]:
        for target in LINK.findall(doc.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+:", target):
                continue
            file, _, anchor = target.partition("#")
            path = (doc.parent / file).resolve() if file else doc
            if not path.exists():
                broken.append(f"{doc.relative_to(ROOT)}: {target}")
            elif anchor and path.suffix == ".md" and anchor not in anchors(path):
                broken.append(f"{doc.relative_to(ROOT)}: {target} (no such heading)")
    assert not broken, "broken links:\n" + "\n".join(broken)


CODE_LINK = re.compile(r"\b(docs/[\w/.-]+\.md)(?:#([\w-]+))?")


def test_every_doc_the_code_points_to_exists() -> None:
    """Docstrings, comments and messages that send a reader to a doc (and a heading of it)."""
    broken = []
    for pattern in ("include/**/*.py", "dags/*.py", "bench/**/*.py", "tests/**/*.py", "Makefile"):
        for path in sorted(ROOT.glob(pattern)):
            for doc, anchor in CODE_LINK.findall(path.read_text(encoding="utf-8")):
                target = ROOT / doc
                if not target.exists() or (anchor and anchor not in anchors(target)):
                    broken.append(f"{path.relative_to(ROOT)}: {doc}#{anchor}".rstrip("#"))
    assert not broken, "the code points to docs that are not there:\n" + "\n".join(broken)


def test_every_output_table_is_documented() -> None:
    migrations = (PACKAGE / "warehouse" / "migrations").glob("*.sql")
    created = {
        name
        for sql in migrations
        for name in re.findall(r"CREATE TABLE IF NOT EXISTS (mw_\w+)", sql.read_text())
    }
    data = (DOCS / "data.md").read_text(encoding="utf-8")
    assert created, "no migration creates a table"
    assert not {t for t in created if f"`{t}`" not in data}, "tables missing from docs/data.md"


def test_every_bench_script_has_its_place_in_benchmarks() -> None:
    text = (DOCS / "benchmarks.md").read_text(encoding="utf-8")
    scripts = sorted(p.name for p in (ROOT / "bench").glob("*.py"))
    assert scripts
    assert not [s for s in scripts if f"bench/{s}" not in text], "scripts not in benchmarks.md"


def test_decision_records_are_numbered_once_and_dated() -> None:
    records = sorted(DECISIONS.glob("*.md"))
    numbers = [p.name[:4] for p in records]
    assert all(re.fullmatch(r"\d{4}-[a-z0-9-]+\.md", p.name) for p in records), numbers
    assert len(set(numbers)) == len(numbers), f"a number used twice: {numbers}"
    for record in records:
        text = record.read_text(encoding="utf-8")
        assert text.startswith(f"# {record.name[:4]}: "), record.name
        assert re.search(r"^Date: \d{4}-\d{2}-\d{2}", text, re.M), f"{record.name}: no date"
        for section in ("## Context", "## Consequences"):
            assert section in text, f"{record.name}: no {section}"
