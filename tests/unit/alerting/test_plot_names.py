"""Plot file names come from alert ids, which carry model ids (data): never a path component."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelwatch.links import plot_name


@pytest.mark.parametrize(
    "alert_id",
    [
        "m01:anomaly:20261101T09",
        "../../../outside/evil:anomaly:20261101T09",
        "..",
        "/etc/passwd:outage:20261101T09",
        "a\\b\x00c:anomaly:20261101T09",
        ".hidden:anomaly:20261101T09",
        "x" * 500,
    ],
)
def test_plot_name_is_one_safe_component_inside_the_folder(alert_id: str, tmp_path: Path) -> None:
    name = plot_name(alert_id)
    assert "/" not in name and "\\" not in name and "\x00" not in name
    assert not name.startswith(".") and name.endswith(".png") and len(name) <= 100
    assert (tmp_path / name).resolve().parent == tmp_path.resolve()


def test_plot_names_are_readable_stable_and_distinct() -> None:
    assert plot_name("m01:anomaly:20261101T09").startswith("m01_anomaly_20261101T09-")
    assert plot_name("m01:anomaly:20261101T09") == plot_name("m01:anomaly:20261101T09")
    # ids that differ only in unsafe characters still get their own files
    assert plot_name("a/b:anomaly:20261101T09") != plot_name("a_b:anomaly:20261101T09")
