"""Great Expectations plumbing: a quiet ephemeral context, running a suite, reading results.

The gate (`validate.py`) and its rules (`expectations.py`) never touch GX's context or result
objects directly; everything GX-shaped passes through here, so a GX upgrade changes one file.
`great_expectations` is imported inside `ephemeral_context` only: DAG files import this package
and must parse in well under a second, and the GX import alone costs seconds.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator
from typing import Any

import pandas as pd


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


def ephemeral_context() -> tuple[Any, Any]:
    """GX and a fresh in-memory context: no files, no analytics, no tqdm bars in task logs."""
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
        return gx, gx.get_context(mode="ephemeral", project_config=config)


def expect(gx: Any, kind: str, check: str, **kwargs: Any) -> Any:
    """An expectation tagged with our check name, which is how results are read back."""
    return getattr(gx.expectations, kind)(meta={"check": check}, **kwargs)


def check_name(result: Any) -> str:
    """The check name `expect` tagged the result's expectation with."""
    return str(result.expectation_config.meta["check"])


def run_suite(
    gx: Any,
    context: Any,
    frame: pd.DataFrame,
    expectations: list[Any],
    name: str,
    stats: dict[str, int],
) -> list[Any]:
    """Run one suite over `frame` with COMPLETE results; an expectation that errored is fatal."""
    with quiet_gx():
        batch = (
            context.data_sources.add_pandas(f"{name}_source")
            .add_dataframe_asset(f"{name}_asset")
            .add_batch_definition_whole_dataframe(f"{name}_batch")
        )
        suite = context.suites.add(
            gx.ExpectationSuite(name=f"{name}_suite", expectations=expectations)
        )
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=f"{name}_validation", data=batch, suite=suite)
        )
        result = definition.run(
            batch_parameters={"dataframe": frame},
            # Row positions are all we need back; the failing values themselves are not.
            result_format={"result_format": "COMPLETE", "exclude_unexpected_values": True},
        )
    for key in ("evaluated_expectations", "successful_expectations", "unsuccessful_expectations"):
        stats[key] += int(result.statistics.get(key) or 0)
    for r in result.results:
        message = _exception_message(r.exception_info)
        if message is not None:
            raise RuntimeError(
                f"Great Expectations could not evaluate {check_name(r)!r}: {message}"
            )
    return list(result.results)


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
