"""Settings are read by every task of an hour: a file's text is parsed once per process, and
an edited file is read afresh (the text is the key, not the path)."""

from __future__ import annotations

import pytest

from modelwatch.config import ConfigError, load_settings


def test_the_same_text_is_parsed_once_and_an_edit_is_seen(tmp_path) -> None:
    path = tmp_path / "modelwatch.yaml"
    path.write_text("detection: {history_days: 7}\n")
    first = load_settings(path)
    assert load_settings(path) is first
    path.write_text("detection: {history_days: 9}\n")
    assert load_settings(path).detection.history_days == 9
    assert first.detection.history_days == 7


def test_a_broken_file_fails_every_time(tmp_path) -> None:
    path = tmp_path / "modelwatch.yaml"
    path.write_text("detection: [\n")
    for _ in range(2):
        with pytest.raises(ConfigError):
            load_settings(path)
