"""The detector cache: one file per model id and day, whatever the id looks like."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelwatch.config import DetectionConfig
from modelwatch.detection.cache import DetectorStore
from modelwatch.detection.detector import fit_detector
from modelwatch.detection.score import STATUS_SCORED, detect_model
from tests.unit.detection.frames import DAY, HOUR, week_and_hour

LATENCIES = ("latency_p50_ms", "latency_p95_ms", "latency_p99_ms")


@pytest.mark.parametrize(
    ("first", "second"),
    [("team a/m1", "team_a_m1"), ("модель-1", "模型-1"), ("m.1", "m_1"), ("a", "A")],
)
def test_ids_that_reduce_to_the_same_name_keep_their_own_detector(
    tmp_path: Path, first: str, second: str
) -> None:
    """The second model must be scored against its own normal, not the first one's."""
    cfg = DetectionConfig()
    store = DetectorStore(tmp_path, cfg)
    rows_a, hist_a = week_and_hour(first, seed=1)
    rows_b, hist_b = week_and_hour(second, seed=2)
    for frame in (rows_b, hist_b):  # the second model is ten times slower, and always was
        frame[list(LATENCIES)] *= 10.0
    assert detect_model(first, rows_a, hist_a, HOUR, cfg, store).status == STATUS_SCORED
    cached = detect_model(second, rows_b, hist_b, HOUR, cfg, store)
    own = detect_model(second, rows_b, hist_b, HOUR, cfg)  # no cache: its own history
    assert cached.score == own.score
    assert not cached.is_anomaly
    assert store.path(first, DAY) != store.path(second, DAY)
    reread = DetectorStore(tmp_path, cfg)  # a new task process reading the files
    assert reread.load(first, HOUR).center[1] == pytest.approx(40.0, rel=0.05)
    assert reread.load(second, HOUR).center[1] == pytest.approx(400.0, rel=0.05)


HOSTILE_IDS = ["../../x", "/etc/passwd", "..", ".", "", "a\x00b", "x" * 1000, "\ud800", "a\\..\\b"]


@pytest.mark.parametrize("model_id", HOSTILE_IDS)
def test_a_hostile_id_stays_inside_the_store_and_round_trips(tmp_path: Path, model_id) -> None:
    cfg = DetectionConfig()
    root = tmp_path / "store"
    store = DetectorStore(root, cfg)
    _, hist = week_and_hour()
    det = fit_detector(hist, cfg, "m", fitted_at=DAY)
    path = store.path(model_id, DAY)
    assert path.parent == root / f"{DAY:%Y%m%d}"  # exactly one level below the day folder
    assert len(path.name.encode()) <= 255 and "/" not in path.name and "\x00" not in path.name
    assert not path.name.startswith(".")
    store.save(model_id, DAY, det)
    assert [p.resolve() for p in tmp_path.rglob("*") if p.is_file()] == [path.resolve()]
    loaded = DetectorStore(root, cfg).load(model_id, HOUR)
    assert loaded is not None and loaded.n_train_rows == det.n_train_rows


def test_each_hostile_id_gets_its_own_file(tmp_path: Path) -> None:
    store = DetectorStore(tmp_path, DetectionConfig())
    names = {store.path(m, DAY).name for m in HOSTILE_IDS}
    assert len(names) == len(HOSTILE_IDS)


def test_a_saved_detector_loads_as_it_was_and_a_damaged_file_is_refitted(tmp_path: Path) -> None:
    """The cache round-trips a detector through the standard pickle (its arrays and scores
    unchanged); a truncated file, or one holding something else, is refitted (None), never
    an error that fails the hour."""
    import pickle

    import numpy as np

    cfg = DetectionConfig()
    store = DetectorStore(tmp_path, cfg)
    rows, hist = week_and_hour("m1", seed=3)
    first = detect_model("m1", rows, hist, HOUR, cfg, store)
    path = store.path("m1", DAY)
    assert path.suffix == ".pickle" and path.exists()
    loaded = DetectorStore(tmp_path, cfg).load("m1", HOUR)
    saved = pickle.loads(path.read_bytes())
    assert np.array_equal(loaded.center, saved.center) and loaded.metrics == saved.metrics
    assert detect_model("m1", rows, hist, HOUR, cfg, DetectorStore(tmp_path, cfg)).score == (
        first.score
    )
    blob = path.read_bytes()
    path.write_bytes(blob[: len(blob) // 2])
    assert DetectorStore(tmp_path, cfg).load("m1", HOUR) is None
    path.write_bytes(pickle.dumps({"not": "a detector"}))
    assert DetectorStore(tmp_path, cfg).load("m1", HOUR) is None
