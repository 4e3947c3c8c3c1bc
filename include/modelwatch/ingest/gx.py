"""Great Expectations plumbing: a quiet in-memory context, running a suite, reading results.

The gate (`validate.py`) and its rules (`expectations.py`) never touch GX's context or result
objects directly; everything GX-shaped passes through here, so a GX upgrade changes one file.
`great_expectations` is imported inside `frame_batches` only: DAG files import this package
and must parse in well under a second, and the GX import alone costs seconds.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import warnings
from collections.abc import Iterator
from typing import Any

import pandas as pd

_LOCAL = threading.local()


@contextlib.contextmanager
def quiet_gx() -> Iterator[None]:
    """GX logs and warns freely; keep task logs for our own messages while it runs."""
    logger = logging.getLogger("great_expectations")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def frame_batches() -> tuple[Any, Any]:
    """GX, and this thread's batch definition for validating any pandas frame.

    Built once per thread and kept: an in-memory context with one pandas datasource, no files,
    no analytics, no tqdm bars in task logs. Suites are validated on a batch directly
    (`Batch.validate`), so nothing is added to the context per hour and names never collide;
    a fresh context, datasource, suite and validation definition per suite run would cost
    15-22 % of validating an hour, three times in every hour.
    """
    cached = getattr(_LOCAL, "batches", None)
    if cached is None:
        with quiet_gx():
            import great_expectations as gx
            from great_expectations.data_context.types.base import (
                DataContextConfig,
                InMemoryStoreBackendDefaults,
                ProgressBarsConfig,
            )

            config = DataContextConfig(
                store_backend_defaults=InMemoryStoreBackendDefaults(),
                progress_bars=ProgressBarsConfig(globally=False),
                analytics_enabled=False,
            )
            context = gx.get_context(mode="ephemeral", project_config=config)
            batches = (
                context.data_sources.add_pandas("modelwatch")
                .add_dataframe_asset("frame")
                .add_batch_definition_whole_dataframe("whole frame")
            )
        cached = _LOCAL.batches = (gx, batches)
    return cached


def expect(gx: Any, kind: str, check: str, **kwargs: Any) -> Any:
    """An expectation tagged with our check name, which is how results are read back."""
    return getattr(gx.expectations, kind)(meta={"check": check}, **kwargs)


def check_name(result: Any) -> str:
    """The check name `expect` tagged the result's expectation with."""
    return str(result.expectation_config.meta["check"])


#: Results for a suite that passes: pass or fail only, no failing rows to gather.
PASS_OR_FAIL = {"result_format": "BOOLEAN_ONLY"}
#: Results for a suite that failed: every failing row's position (the values are not needed).
ROW_POSITIONS = {"result_format": "COMPLETE", "exclude_unexpected_values": True}


def run_suite(
    gx: Any,
    batches: Any,
    frame: pd.DataFrame,
    expectations: list[Any],
    name: str,
    stats: dict[str, int],
) -> list[Any]:
    """Run one suite over `frame`; an expectation that errored is fatal.

    Pass or fail first: most hours pass, and then no expectation needs its failing rows, which
    GX gathers at about twice the cost of the verdict. Only a suite that fails runs again with
    COMPLETE results, whose row positions name the models to quarantine: the verdicts are the
    same either way, and `stats` counts the pass that was kept.
    """
    suite = gx.ExpectationSuite(name=name, expectations=expectations)
    result = _validate(batches, frame, suite, PASS_OR_FAIL)
    if not result.success:
        result = _validate(batches, frame, suite, ROW_POSITIONS)
    for key in ("evaluated_expectations", "successful_expectations", "unsuccessful_expectations"):
        stats[key] += int(result.statistics.get(key) or 0)
    for r in result.results:
        message = _exception_message(r.exception_info)
        if message is not None:
            raise RuntimeError(
                f"Great Expectations could not evaluate {check_name(r)!r}: {message}"
            )
    return list(result.results)


def _validate(batches: Any, frame: pd.DataFrame, suite: Any, result_format: dict) -> Any:
    with quiet_gx(), configurations_kept():
        batch = batches.get_batch(batch_parameters={"dataframe": frame})
        return batch.validate(suite, result_format=result_format)


@contextlib.contextmanager
def configurations_kept() -> Iterator[dict[int, tuple[Any, Any]]]:
    """While inside (one suite's validation): an expectation's `configuration` is built once.

    GX rebuilds it (a pydantic `dict()` of the expectation, its class name converted to snake
    case) at each of the dozens of reads per expectation while it plans a validation: about
    half of validating an hour. The expectations are not changed while they are validated, so
    the configuration read first is the one every later read would build. Yields the kept
    configurations by expectation (the expectation is kept with it, so its id stays its own).
    """
    from great_expectations.expectations.expectation import Expectation

    real = Expectation.__dict__.get("configuration")
    if not isinstance(real, property) or real.fget is None:  # not the GX this was written for
        yield {}
        return
    build, kept = real.fget, {}

    def configuration(self: Any) -> Any:
        got = kept.get(id(self))
        if got is None:
            got = kept[id(self)] = (self, build(self))
        return got[1]

    Expectation.configuration = property(configuration, doc=real.__doc__)
    try:
        yield kept
    finally:
        Expectation.configuration = real


def failing_positions(result: Any) -> list[int]:
    """Row positions an expectation failed on; all of them, or a RuntimeError.

    Without every failing row the gate could not say which models they belong to.
    """
    count = int(result.result.get("unexpected_count") or 0)
    index = result.result.get("unexpected_index_list")
    if count and (index is None or len(index) != count):
        raise RuntimeError(
            f"Great Expectations reported {count} failing rows for {check_name(result)!r} but "
            f"returned {0 if index is None else len(index)} row positions"
        )
    return [int(i) for i in index or []] if count else []


def _exception_message(info: Any) -> str | None:
    """GX nests exception info per metric in some versions; find any raised exception."""
    if not isinstance(info, dict):
        return None
    if info.get("raised_exception"):
        return str(info.get("exception_message") or "unknown error")
    for value in info.values():
        if isinstance(value, dict):
            message = _exception_message(value)
            if message is not None:
                return message
    return None
