"""The executors' preload of the task libraries before their workers fork
(`modelwatch.airflow.executor`, `modelwatch.airflow.celery_config`); the deployment tests run
every DAG on them."""

from __future__ import annotations

import sys

import pytest

from modelwatch.airflow import executor


def test_preload_imports_what_it_can_and_reports_the_rest() -> None:
    sys.modules.pop("colorsys", None)
    failed = executor.preload(["colorsys", "modelwatch_no_such_module"])
    assert failed == ["modelwatch_no_such_module"]
    assert "colorsys" in sys.modules


def test_every_preloaded_library_imports() -> None:
    assert executor.preload() == []


@pytest.mark.parametrize("fork", [True, False])
def test_the_executor_preloads_before_its_workers_fork_and_only_then(monkeypatch, fork) -> None:
    calls: list[str] = []
    monkeypatch.setattr(executor, "preload", lambda: calls.append("preload") or [])
    monkeypatch.setattr(
        executor.LocalExecutor, "start", lambda self: calls.append("workers forked")
    )
    ex = executor.PreloadingLocalExecutor(parallelism=2)
    ex.is_mp_using_fork = fork
    ex.start()
    assert calls == (["preload", "workers forked"] if fork else ["workers forked"])


def test_celery_workers_preload_when_celery_imports_their_modules(monkeypatch) -> None:
    """Celery sends `import_modules` in a worker before its pool forks (the Celery deployment
    test checks the workers' logs); the settings are Airflow's own."""
    from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG
    from celery.signals import import_modules

    from modelwatch.airflow import celery_config

    calls: list[str] = []
    monkeypatch.setattr(celery_config, "preload", lambda: calls.append("preload") or [])
    import_modules.send(sender=None)
    assert calls == ["preload"]
    assert celery_config.CELERY_CONFIG == DEFAULT_CELERY_CONFIG
