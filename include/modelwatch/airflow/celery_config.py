"""Celery settings for modelwatch's workers: Airflow's, plus the task libraries imported once.

Why: each Airflow task on a Celery worker is forked from a pool process, which is forked from
the worker, so what the worker imported before its pool started is there in every task, and
the rest is imported again by every task (Great Expectations alone, about 4 s). Airflow itself
preloads its own modules on Celery's `import_modules` signal; this adds the pipeline's. Use it
with `AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS=modelwatch.airflow.celery_config.CELERY_CONFIG`.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG
from celery.signals import import_modules

from modelwatch.airflow.executor import preload

#: Airflow's Celery settings, unchanged: what this module adds is the signal handler below.
CELERY_CONFIG: dict[str, Any] = dict(DEFAULT_CELERY_CONFIG)


@import_modules.connect
def preload_task_libraries(*args: Any, **kwargs: Any) -> None:
    """Celery sends `import_modules` in the worker before its pool forks."""
    preload()
