"""Config errors name the file, the line and the key path, one problem per line; names that
point at nothing (a receiver typo) fail the load wherever settings are loaded."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelwatch.config import CONFIG_ENV, ConfigError, Settings, load_settings, settings_dir


@pytest.fixture(autouse=True)
def _no_config_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CONFIG_ENV, raising=False)


def problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "modelwatch.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    lines = str(info.value).splitlines()
    assert lines == info.value.problems
    assert all(line.startswith(f"{path}:") for line in lines)
    return lines


def test_a_receiver_typo_is_named_with_its_line_and_the_closest_channel(tmp_path: Path) -> None:
    got = problems(
        tmp_path,
        "alerts:\n"
        "  channels:\n"
        "    slack_ads: {type: slack, conn_id: mw_slack}\n"
        "  receivers: [log, slack_ad]\n",
    )
    assert len(got) == 1
    assert got[0].startswith(f"{tmp_path / 'modelwatch.yaml'}:4: alerts.receivers[1]: ")
    assert "'slack_ad'" in got[0] and "did you mean 'slack_ads'" in got[0]


def test_route_receivers_and_route_labels_are_checked(tmp_path: Path) -> None:
    got = problems(
        tmp_path,
        "alerts:\n  routes:\n    - match: {team: ads}\n      receivers:\n        - log\n"
        "        - pager\n",
    )
    assert got == [
        f"{tmp_path / 'modelwatch.yaml'}:6: alerts.routes[0].receivers[1]: receiver 'pager' "
        "is not a channel of alerts.channels nor a built-in; known: log"
    ]
    got = problems(tmp_path, "alerts:\n  routes:\n    - {match: {colour: red}, receivers: [log]}\n")
    assert ":3: alerts.routes[0].match: unknown label 'colour'" in got[0]


def test_every_problem_of_a_file_on_its_own_line(tmp_path: Path) -> None:
    got = problems(
        tmp_path,
        "shard_size: 0\n"
        "alerts:\n"
        "  anomaly: {n: 3, m: 2}\n"
        "  channels:\n"
        "    x: {type: bogus}\n"
        "detection:\n"
        "  thresold: 0.9\n",
    )
    where = [line.split(": ", 2)[:2] for line in got]
    path = str(tmp_path / "modelwatch.yaml")
    assert where == [
        [f"{path}:1", "shard_size"],
        [f"{path}:3", "alerts.anomaly"],
        [f"{path}:5", "alerts.channels.x"],
        [f"{path}:7", "detection.thresold"],
    ]
    assert "Value error" not in "\n".join(got)


def test_a_yaml_error_gives_its_line(tmp_path: Path) -> None:
    got = problems(tmp_path, "detection:\n  threshold: 0.9\nalerts: [unclosed\n  receivers: {\n")
    assert len(got) == 1
    assert got[0].startswith(f"{tmp_path / 'modelwatch.yaml'}:4: not valid YAML: ")


def test_settings_built_in_code_are_cross_checked_too() -> None:
    with pytest.raises(ValueError, match=r"alerts\.receivers\[0\]: receiver 'pager'"):
        Settings.model_validate({"alerts": {"receivers": ["pager"]}})


def test_an_optional_channel_without_its_connection_loads(tmp_path: Path) -> None:
    path = tmp_path / "modelwatch.yaml"
    path.write_text(
        "alerts:\n  receivers: [log, am]\n"
        "  channels: {am: {type: alertmanager, conn_id: mw_nowhere_am, optional: true}}\n"
    )
    assert load_settings(path).alerts.receivers == ("log", "am")


def test_relative_paths_are_relative_to_the_settings_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert settings_dir() == tmp_path
    (tmp_path / "etc").mkdir()
    assert settings_dir("etc/modelwatch.yaml") == tmp_path / "etc"
    monkeypatch.setenv(CONFIG_ENV, str(tmp_path / "etc" / "m.yaml"))
    assert settings_dir() == tmp_path / "etc"
