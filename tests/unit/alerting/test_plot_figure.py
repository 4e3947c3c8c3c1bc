"""An alert's plot is drawn on a figure its thread keeps per number of panels: a kept figure
draws the same picture, pixel for pixel, as a fresh one, whatever it drew before."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from modelwatch.alerting import plots
from modelwatch.alerting.lifecycle import AlertEvent

HOUR = datetime(2026, 11, 1, 10)


def event(model: str, *names: str) -> AlertEvent:
    detail = [{"metric": n, "observed": 2.0, "baseline": 1.0, "robust_z": 9 - i}
              for i, n in enumerate(names)]  # fmt: skip
    return AlertEvent(f"{model}:anomaly:x", model, "anomaly", "firing", "warning", HOUR, "s",
                      opened_hour=HOUR - timedelta(hours=2), detail=json.dumps(detail))  # fmt: skip


def frames(seed: int, names: list[str], hours: int = 48) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A model's minutes over `hours` and its hourly scores, the last two hours anomalous."""
    rng = np.random.default_rng(seed)
    end = HOUR + timedelta(hours=1)
    ts = pd.date_range(end - timedelta(hours=hours), end, freq="min", inclusive="left")
    rows = pd.DataFrame({"ts": ts, **{n: 10 * seed + rng.normal(size=len(ts)) for n in names}})
    hour = pd.date_range(end - timedelta(hours=12), end, freq="h", inclusive="left")
    scores = pd.DataFrame({"hour": hour, "score": rng.uniform(0.2, 0.6, len(hour)),
                           "is_anomaly": [False] * (len(hour) - 2) + [True, True]})  # fmt: skip
    return rows, scores


def draw(tmp_path: Path, name: str, seed: int, metrics: list[str], hours: int = 48) -> bytes:
    rows, scores = frames(seed, metrics, hours)
    out = tmp_path / f"{name}.png"
    plots.draw_alert(event(f"model-{seed}", *metrics), rows, scores, metrics, out)
    return out.read_bytes()


@pytest.fixture
def fresh() -> None:
    """Start from no kept figure, as a new task process does."""
    plots._LOCAL.__dict__.pop("figures", None)


def test_a_kept_figure_draws_what_a_fresh_one_draws(tmp_path: Path, fresh: None) -> None:
    three = ["latency_p99_ms", "error_rate", "cpu_util"]
    first = draw(tmp_path, "first", 1, three)
    # another model, other values, a shorter window, then fewer panels: all on kept figures
    assert draw(tmp_path, "other", 2, three, hours=6) != first
    draw(tmp_path, "one", 3, ["request_rate"])
    again = draw(tmp_path, "again", 1, three)
    assert again == first


def test_the_figure_is_kept_per_thread_and_number_of_panels(fresh: None) -> None:
    fig, axes = plots._figure(3)
    assert plots._figure(3)[0] is fig and len(axes) == 3
    assert plots._figure(2)[0] is not fig
    other: list[object] = []
    thread = threading.Thread(target=lambda: other.append(plots._figure(3)[0]))
    thread.start()
    thread.join()
    assert other and other[0] is not fig


def test_a_kept_figure_forgets_the_last_picture(tmp_path: Path, fresh: None) -> None:
    draw(tmp_path, "first", 1, ["latency_p99_ms", "error_rate"])
    fig, axes = plots._figure(3)
    assert not fig.legends
    assert all(not ax.lines and not ax.collections for ax in axes)
