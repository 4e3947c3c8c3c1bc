"""The file operations the stages use, on a local folder and on an fsspec store.

The store here is fsspec's `memory://` filesystem (one process: enough for what a function
does; tests/integration/test_object_storage.py runs whole hours on a real SFTP server).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from upath import UPath

from modelwatch import storage
from modelwatch.config import DetectionConfig, Settings
from modelwatch.detection.cache import DetectorStore
from modelwatch.folders import REPORT_ENV, STAGING_ENV, Folders

FRAME = pd.DataFrame({"model_id": ["a", "a", "b", "c"], "v": [1.0, 2.0, 3.0, 4.0]})


@pytest.fixture(params=["local", "memory"])
def root(request, tmp_path):
    if request.param == "local":
        yield tmp_path
        return
    base = UPath(f"memory:///{uuid.uuid4().hex}")
    yield base
    storage.remove_tree(base)


def test_a_plain_folder_or_file_url_stays_a_local_path(tmp_path):
    assert storage.location(str(tmp_path)) == tmp_path
    assert storage.location(f"file://{tmp_path}/x") == tmp_path / "x"
    assert storage.location("relative/dir") == Path("relative/dir").resolve()
    assert all(storage.is_local(storage.location(t)) for t in (str(tmp_path), "file:///x"))


def test_a_url_of_an_airflow_scheme_is_an_object_storage_path_with_its_connection():
    """`sftp` is registered by Airflow's SFTP provider (a test dependency), as `s3` is by the
    Amazon one; nothing is opened until a file is read."""
    from airflow.sdk import ObjectStoragePath

    got = storage.location("sftp://modelwatch_files@/srv/modelwatch/staging")
    assert isinstance(got, ObjectStoragePath)
    assert (got.protocol, got.conn_id, got.path) == (
        "sftp",
        "modelwatch_files",
        "/srv/modelwatch/staging",
    )
    assert storage.location(str(got)) == got  # its text names the same store and connection


def test_a_scheme_no_provider_registers_is_opened_by_fsspec():
    got = storage.location("memory:///somewhere/staging")
    assert not storage.is_local(got) and got.protocol == "memory"


def test_folders_follow_store_urls_and_keep_the_layout():
    env = {STAGING_ENV: "memory:///fleet/staging"}
    folders = Folders.from_env(Settings(), env)
    assert folders.reports == UPath("memory:///fleet/reports")  # reports/ beside staging
    hour = datetime(2026, 11, 1, 9)
    assert str(folders.run(hour, "scheduled__x")).endswith(
        "/fleet/staging/20261101T09/scheduled__x"
    )
    shadow = folders.for_shadow("try")
    assert str(shadow.report(hour)).endswith("/fleet/reports/_whatif/try/20261101T09")
    env[REPORT_ENV] = "memory:///elsewhere"
    assert Folders.from_env(Settings(), env).reports == UPath("memory:///elsewhere")


def test_parquet_round_trips_and_row_group_filters_apply(root):
    path = root / "staged" / "rows.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    storage.write_parquet(FRAME, path)
    pd.testing.assert_frame_equal(storage.read_parquet(path), FRAME)
    only = storage.read_parquet(path, filters=[("model_id", "in", ["a", "c"])])
    assert only["model_id"].tolist() == ["a", "a", "c"]


def test_rows_of_some_keys_are_read_from_their_row_groups_only(root, monkeypatch):
    """The rows `read_parquet`'s `in` filter gives, in the same order and types, reading only
    the row groups whose statistics may hold a key (the staged history, sorted by model)."""
    import numpy as np
    import pyarrow.parquet as pq

    ids = [f"m-{i:03d}" for i in range(60)]
    frame = pd.DataFrame(
        {
            "model_id": np.repeat(ids, 50),
            "ts": np.tile(pd.date_range("2026-01-01", periods=50, freq="min"), 60),
            "v": np.arange(3000, dtype=float),
        }
    )
    frame.loc[3, "v"] = np.nan
    path = root / "history.parquet"
    with path.open("wb") as f:
        frame.to_parquet(f, index=False, row_group_size=100)  # two models a group
    read: list[list[int]] = []
    original = pq.ParquetFile.read_row_groups
    monkeypatch.setattr(
        pq.ParquetFile,
        "read_row_groups",
        lambda self, groups, *a, **k: read.append(list(groups)) or original(self, groups, *a, **k),
    )
    keys = ["m-007", "m-031", "m-030", "absent", "m-059"]
    got = storage.read_parquet_of(path, "model_id", keys)
    expected = storage.read_parquet(path, filters=[("model_id", "in", keys)])
    pd.testing.assert_frame_equal(got, expected)
    assert sorted(set(got["model_id"])) == ["m-007", "m-030", "m-031", "m-059"]
    assert read == [[3, 15, 29]]  # of 30 groups: those of m-007, m-030 and m-031, m-059
    none = storage.read_parquet_of(path, "model_id", ["nobody"])
    assert none.empty and list(none.columns) == list(frame.columns)


def test_a_parquet_writer_writes_its_parts_into_one_file(root):
    import pyarrow as pa

    path = root / "history.parquet"
    table = pa.Table.from_pandas(FRAME, preserve_index=False)
    with storage.parquet_writer(path, table.schema) as writer:
        writer.write_table(table.slice(0, 2))
        writer.write_table(table.slice(2))
    pd.testing.assert_frame_equal(storage.read_parquet(path), FRAME)


def test_an_atomic_write_replaces_the_file_and_leaves_no_temporary(root):
    path = root / "report.html"
    storage.write_text_atomically(path, "old")
    storage.write_text_atomically(path, "new")
    assert path.read_text() == "new"
    assert [p.name for p in root.iterdir()] == ["report.html"]


def test_a_failed_atomic_write_keeps_the_old_file(root):
    path = root / "report.html"
    storage.write_text_atomically(path, "old")

    def broken(f):
        f.write(b"half")
        raise RuntimeError("disk gone")

    with pytest.raises(RuntimeError):
        storage.write_atomically(path, broken)
    assert path.read_text() == "old"
    assert [p.name for p in root.iterdir()] == ["report.html"]


def test_children_remove_tree_and_files_below(root):
    for day in ("20261030", "20261031", "notaday"):
        (root / day).mkdir(parents=True, exist_ok=True)
        (root / day / "f").write_text("x")
    assert sorted(p.name for p in storage.children(root, r"[0-9]{8}")) == ["20261030", "20261031"]
    assert storage.children(root / "missing", r".+") == []
    assert len(storage.files_below(root)) == 3
    assert storage.modified(root / "notaday" / "f") is not None
    storage.remove_tree(root / "20261030")
    storage.remove_tree(root / "missing")  # no error
    assert sorted(p.name for p in root.iterdir()) == ["20261031", "notaday"]


def test_the_detector_cache_saves_loads_and_prunes_on_a_store(root):
    """A detector fitted by one worker is read by another (a new store object, nothing in
    memory), scores the same, and old days go."""
    from modelwatch.detection.score import detect_model
    from tests.unit.detection.frames import DAY, HOUR, week_and_hour

    cfg = DetectionConfig()
    rows, history = week_and_hour("team a/m1", seed=1)
    fitted = detect_model("team a/m1", rows, history, HOUR, cfg, DetectorStore(root / "c", cfg))
    other = DetectorStore(root / "c", cfg)
    det = other.load("team a/m1", HOUR)
    assert det is not None and det.fitted_at is not None
    assert detect_model("team a/m1", rows, history, HOUR, cfg, other).score == fitted.score
    assert other.load("another", HOUR) is None
    assert [p.name for p in storage.children(root / "c", r".+")] == [f"{DAY:%Y%m%d}"]
    assert other.prune(keep_days=2, now=DAY + timedelta(days=1)) == 0
    assert other.prune(keep_days=2, now=DAY + timedelta(days=3)) == 1
    assert storage.children(root / "c", r".+") == []
