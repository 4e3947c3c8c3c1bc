"""The demo's start-up halves: the warehouse prepared in a forked child while the parent sets up
Airflow; a child that fails stops the demo with its exit code, and one that succeeds is joined."""

from __future__ import annotations

import pytest

from modelwatch.cli import demo


def test_a_failing_child_stops_the_demo_and_a_finished_one_is_joined(monkeypatch, tmp_path):
    done: list[tuple] = []

    def prepared(spec, n_models, day, log):
        done.append((spec, n_models, day, log))

    monkeypatch.setattr(demo, "prepare_warehouse", prepared)
    child = demo.start_seeding("spec", 3, "day", tmp_path / "log")
    demo.finish_seeding(child)  # no error: it ended with 0
    assert child.exitcode == 0 and not done  # the work ran in the child, not here

    def fails(spec, n_models, day, log):
        raise SystemExit(3)

    monkeypatch.setattr(demo, "prepare_warehouse", fails)
    child = demo.start_seeding("spec", 3, "day", tmp_path / "log")
    with pytest.raises(RuntimeError, match=r"exit code 3\): see the traceback above"):
        demo.finish_seeding(child)


def test_without_fork_the_warehouse_is_prepared_here(monkeypatch, tmp_path):
    import multiprocessing

    done: list[int] = []
    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    monkeypatch.setattr(demo, "prepare_warehouse", lambda *a: done.append(len(a)))
    assert demo.start_seeding("spec", 3, "day", tmp_path / "log") is None
    assert done == [4]
