"""A fleet's metrics source: what every read of metrics goes through.

The extract and the history, the landing sensor, the known and expected models, baseline
decisions (deploys seen in the versions), alert scope and the unknown-id filter, plots,
remediation's observed replicas, training and the replay all read here; none of them knows
whether the rows come from a SQL table (`sql_source.py`) or from Prometheus
(`prometheus.py`). Every frame a source yields has passed the one input edge
(`normalise.metrics_frame`). A source only reads: nothing is ever written to it.

Times are naive UTC everywhere; windows are [start, end).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from datetime import datetime
from types import TracebackType

import pandas as pd

from modelwatch.config import SourceConfig
from modelwatch.warehouse import Warehouse

log = logging.getLogger(__name__)

#: (source, what) of the optional inputs this process has said a source lacks.
_NOTED: set[tuple[str, str]] = set()
#: Columns of `MetricsSource.versions`.
VERSION_COLUMNS = ("model_id", "version", "first_ts")


class SourceError(ValueError):
    """The source cannot be read as its settings say: the message names the setting."""


class MetricsSource(ABC):
    """Reads one fleet's metrics (see the module)."""

    def __init__(self, cfg: SourceConfig) -> None:
        self.cfg = cfg

    @abstractmethod
    def describe(self) -> str:
        """Where the metrics come from, without credentials (for messages and logs)."""

    @abstractmethod
    def check(self) -> None:
        """Fail with a `SourceError` naming the setting when the source cannot be read at all
        (no such table, no mapped key column, a server that does not answer)."""

    @abstractmethod
    def read(
        self, start: datetime, end: datetime, models: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """The rows with start <= ts < end (of `models`, or all), as the input contract has
        them (`normalise.metrics_frame`), sorted by model and time."""

    def stream(self, start: datetime, end: datetime) -> Iterator[pd.DataFrame] | None:
        """Every model's rows with start <= ts < end in frames as the input contract has them
        (at least one frame, maybe empty), in no particular order, from one read that never
        holds the window whole; None when the source cannot stream a window (then it is read
        a list of models at a time)."""
        return None

    @abstractmethod
    def reporting(self, start: datetime, end: datetime) -> list[str]:
        """The models with a row in [start, end), sorted."""

    @abstractmethod
    def newest(self, start: datetime, end: datetime) -> dict[str, datetime]:
        """Each model's newest row time in [start, end)."""

    @abstractmethod
    def active_hours(self, start: datetime, end: datetime) -> list[datetime]:
        """The hours in [start, end) in which any model reported, sorted."""

    @abstractmethod
    def span(self) -> tuple[datetime, datetime] | None:
        """The first and the last hour the source holds rows in; None when it holds none."""

    @abstractmethod
    def reported(self, among: Sequence[str] | None = None) -> set[str]:
        """The ids the source has ever reported (all it keeps); with `among`, which of those."""

    def versions(
        self, models: Sequence[str], start: datetime, end: datetime
    ) -> pd.DataFrame | None:
        """(model_id, version, first_ts) of each version the models' rows in [start, end)
        show; None when the source has no versions (then no deploy is inferred)."""
        self.note("versions", "no model_version in the source: deploys are not inferred")
        return None

    def companion(self, wh: Warehouse) -> Warehouse:
        """Where the fleet's other inputs are read (declared changes, predictions, the labels
        table, and logs with `logs.source: sql`): a SQL source's own connection, else the
        warehouse `wh`."""
        return wh

    def note(self, key: str, message: str) -> None:
        """One info line per process (a task, a CLI run), for an optional input it lacks."""
        said = (self.describe(), key)
        if said not in _NOTED:
            _NOTED.add(said)
            log.info("%s: %s", self.describe(), message)

    def close(self) -> None:  # noqa: B027 - most sources hold nothing open
        """Release what the source holds open."""

    def __enter__(self) -> MetricsSource:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def empty_versions() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype=object) for c in VERSION_COLUMNS})
