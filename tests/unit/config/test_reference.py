"""The settings reference is generated from the models and stays complete and current.

- every setting has a `Field(description=...)` (a setting added without one fails here: the
  message names its key path);
- docs/settings.md is exactly what `python -m modelwatch.config.reference` writes;
- the commented settings file `modelwatch init` writes loads to the defaults, commented or with
  every key uncommented;
- the demo's settings file shows every section.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from pydantic import Field

from modelwatch.config import Settings, load_settings
from modelwatch.config.reference import commented_yaml, markdown, settings

ROOT = Path(__file__).resolve().parents[3]
#: A key line of the commented file: "# ", its indentation, a key (not a nested comment).
KEY_LINE = re.compile(r"^# ( *)([A-Za-z_]\w*):( |$)")


def test_every_setting_has_a_description():
    every = settings()
    undescribed = [s.path for s in every if not s.description]
    assert not undescribed, f"settings without Field(description=...): {undescribed}"
    assert sum(s.kind == "value" for s in every) > 150  # the walk reaches every section


def test_a_setting_added_without_a_description_is_named():
    class WithANewKey(Settings):
        described: int = Field(1, description="Says what it does.")
        new_key: int = 1

    assert [s.path for s in settings(WithANewKey) if not s.description] == ["new_key"]


def test_nested_defaults_are_the_sections_not_their_classes():
    by_path = {s.path: s for s in settings()}
    assert by_path["alerts.anomaly.n"].default == 2  # AlertRule's own default is 1
    assert by_path["alerts.drift.m"].default == 6
    assert by_path["alerts.routes[].receivers"].required
    assert "AlertRule's own default" in by_path["alerts.anomaly"].partial_note
    assert by_path["detection.threshold"].type == "number, > 0.0, < 1.0"


def test_docs_settings_md_is_current():
    current = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    assert current == markdown(), "stale: run `python -m modelwatch.config.reference`"


def uncommented(text: str) -> str:
    """The file with every key line uncommented (nested comments stay comments)."""
    return "\n".join(line[2:] if KEY_LINE.match(line) else line for line in text.splitlines())


def test_the_commented_settings_file_loads_to_the_defaults(tmp_path):
    text = commented_yaml()
    path = tmp_path / "modelwatch.yaml"
    path.write_text(text)
    assert load_settings(path).digest() == Settings().digest()  # all commented: defaults
    path.write_text(uncommented(text))
    raw = yaml.safe_load(path.read_text())
    assert load_settings(path).digest() == Settings().digest()  # every key, at its default
    top = {s.key for s in settings() if s.depth == 0}
    assert set(raw) == top  # complete: every top-level key, every section
    assert raw["alerts"]["anomaly"] == {"n": 2, "m": 3, "recovery_hours": 2}


def test_the_demo_settings_file_shows_every_section():
    text = (ROOT / "config" / "modelwatch.yaml").read_text()
    shown = {m.group(1) for m in re.finditer(r"^(?:# )?([a-z_]+):", text, re.MULTILINE)}
    missing = {s.key for s in settings() if s.depth == 0} - shown
    assert not missing, f"config/modelwatch.yaml does not show {sorted(missing)}"
