"""The repository's own config file loads: a typo in config/modelwatch.yaml fails the suite,
not the first scheduled run that reads it."""

from __future__ import annotations

from pathlib import Path

import yaml

from modelwatch.config import Settings, load_settings

REPO_CONFIG = Path(__file__).resolve().parents[3] / "config" / "modelwatch.yaml"


def test_repository_config_loads_and_says_what_it_sets() -> None:
    settings = load_settings(REPO_CONFIG)
    assert isinstance(settings, Settings)
    raw = yaml.safe_load(REPO_CONFIG.read_text())
    # every section the file sets made it into the settings (none silently defaulted)
    for section in raw:
        assert section in Settings.model_fields, section
    assert settings.remediation.dry_run is raw["remediation"]["dry_run"]
    assert settings.alerts.receivers == tuple(raw["alerts"]["receivers"])
    assert settings.detection.threshold == raw["detection"]["threshold"]
    assert settings.source.table == raw["source"]["table"]
