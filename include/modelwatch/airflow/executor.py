"""A LocalExecutor whose tasks start with the pipeline's libraries already imported.

Why: Airflow's LocalExecutor forks its workers from the scheduler, and on Linux each task is
forked from a worker, so a task starts with what the scheduler had imported and imports the
rest itself: Great Expectations alone takes about 4 s, the pipeline and pandas about another
second, paid by every task of every hour. Imported once in the scheduler before the workers
fork, they are shared by every task (copy on write). Use it with
`AIRFLOW__CORE__EXECUTOR=modelwatch.airflow.executor.PreloadingLocalExecutor`. Under the
spawn start method (macOS) workers start fresh and nothing is preloaded.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Iterable

from airflow.executors.local_executor import LocalExecutor

log = logging.getLogger(__name__)

#: What the DAGs' tasks import: the pipeline's task edge, then the heavy libraries its steps
#: import only when they run (the packages new in `sys.modules` after an hour of
#: `pipeline.runner.run_hour`). Importing them starts no thread, so forking after it is safe.
PRELOAD: tuple[str, ...] = (
    "modelwatch.airflow.tasks",
    "pandas",
    "pyarrow.parquet",
    "great_expectations",
    "sklearn.ensemble",
    "scipy.stats",
)


def preload(names: Iterable[str] = PRELOAD) -> list[str]:
    """Import `names`; return the ones that failed. A failure is logged, never raised: a task
    imports what it needs anyway, and the scheduler must start."""
    failed = []
    started = time.perf_counter()
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # any import error: the task will report it when it runs
            log.warning("modelwatch: could not preload %s", name, exc_info=True)
            failed.append(name)
    log.info("modelwatch: preloaded task libraries in %.1f s", time.perf_counter() - started)
    return failed


class PreloadingLocalExecutor(LocalExecutor):
    """Airflow's LocalExecutor, with `PRELOAD` imported before its workers fork."""

    def start(self) -> None:
        if self.is_mp_using_fork:
            preload()
        super().start()
