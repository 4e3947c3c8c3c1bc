"""A metrics source that is a Prometheus server (`source.kind: prometheus`).

Each metric is one PromQL query giving one series per model (`source.queries`), labelled with
the model's id (`source.model_label`). A window is read as range queries at the source's
interval (`promql.py`): a point at each step where the query has a value, so an hour holds at
most 3600 / interval points and no point belongs to two hours; backfills and reruns read the
same hours again and get the same rows (as long as the server keeps them).

Which models reported, and when last, is asked of the server rather than read as rows: a
subquery over the first metric's query counts, per model, the steps with a value. What
completeness can see: a step whose sample is missing still has a value when an older sample
lies within Prometheus's lookback (5 minutes by default), so a lost five-minute sample reads as
a repeat of the one before; a longer gap shows.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pandas as pd

from modelwatch import schema
from modelwatch.config import SourceConfig
from modelwatch.ingest.normalise import metrics_frame
from modelwatch.ingest.promql import PrometheusApi, PromQLError, chunks, matrix_frame, only_models
from modelwatch.ingest.source import MetricsSource, SourceError
from modelwatch.warehouse.source_spec import SourceSpec

HOUR = timedelta(hours=1)
#: Prometheus duration units, in seconds.
UNITS = {"y": 365 * 86400, "w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1, "ms": 0.001}


def retention(text: str) -> timedelta | None:
    """The time part of Prometheus's `storageRetention` ("15d", "100y", "30d or 10GiB");
    None when it keeps by size only."""
    for part in str(text).split(" or "):
        found = re.findall(r"(\d+)(ms|y|w|d|h|m|s)", part.strip())
        if found and "".join(n + u for n, u in found) == part.strip():
            return timedelta(seconds=sum(int(n) * UNITS[u] for n, u in found))
    return None


#: Above this many ids a read asks for every model and keeps the ones wanted: the filter is
#: spelled out in the query, which should stay a reasonable size.
FILTER_IDS = 500


class PrometheusSource(MetricsSource):
    """Reads `source.queries` from the Prometheus server of `source.conn_id`."""

    def __init__(self, cfg: SourceConfig, spec: SourceSpec) -> None:
        super().__init__(cfg)
        self.spec = spec
        self.api = PrometheusApi(str(spec.conn_id))
        self.step = cfg.interval_seconds
        self.label = cfg.model_label
        self._ready = False

    def describe(self) -> str:
        return f"Prometheus {self.spec.describe()}"

    def check(self) -> None:
        if not self._ready:
            self.api.ready()
            self._ready = True

    def queries(self) -> dict[str, str]:
        """Metric -> query, for the metrics the fleet reports that have one, in our order."""
        wanted = [m for m in self.cfg.all_columns if m in self.cfg.queries]
        return {m: self.cfg.queries[m] for m in wanted if m not in self.cfg.absent}

    def _series(
        self, name: str, query: str, start: datetime, end: datetime, models: Sequence[str] | None
    ) -> pd.DataFrame:
        asked = query if models is None else only_models(query, self.label, models)
        what = f"source.queries.{name} ({query!r})"
        parts = []
        for first, last in chunks(start, end, self.step):
            try:
                result = self.api.query_range(asked, first, last, self.step)
            except PromQLError as exc:
                if "cannot be reached" in str(exc):
                    raise
                raise SourceError(f"{what}: Prometheus refused it: {exc}") from exc
            parts.append(matrix_frame(result, self.label, name, what))
        if not parts:
            return matrix_frame([], self.label, name, what)
        return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]

    def read(
        self, start: datetime, end: datetime, models: Sequence[str] | None = None
    ) -> pd.DataFrame:
        self.check()
        ids = None if models is None else [str(m) for m in dict.fromkeys(models)]
        asked = ids if ids is not None and len(ids) <= FILTER_IDS else None
        keys = [schema.MODEL_ID, schema.TS]
        frames = []
        for name, query in self.queries().items():
            got = self._series(name, query, start, end, asked)
            frames.append(got.set_index(keys)[name])
        merged = pd.concat(frames, axis=1).reset_index() if frames else pd.DataFrame(columns=keys)
        if ids is not None:
            merged = merged[merged[schema.MODEL_ID].isin(ids)]
        for m in self.cfg.all_columns:  # a declared metric without a query: never reported
            if m not in merged.columns and m not in (schema.MODEL_VERSION, *self.cfg.absent):
                merged[m] = float("nan")
        merged = merged.sort_values(keys, kind="mergesort").reset_index(drop=True)
        return metrics_frame(merged, self.cfg, mapped=False)

    # -- presence: asked of the server, one number per model -------------------------------
    def _present(self) -> str:
        """One series per model with a value at every step where the first metric's query has
        one (the first of `source.metrics`, in the built-ins' order): a subquery over a week
        at one-minute steps evaluates its query ten thousand times, so over one query."""
        first = next(iter(self.queries().values()))
        return f"group by ({self.label}) ({first})"

    def _over(self, inner: str, window: timedelta) -> str:
        """`inner` at every step of the `window` ending at the evaluation time: half a step
        less than the window, so the steps are the window's own whether the server's ranges
        are closed (2.x) or open (3.x) at their start."""
        ms = int(window.total_seconds() * 1000 - self.step * 500)
        return f"({inner})[{ms}ms:{self.step}s]"

    def _at_last_step(self, expr: str, start: datetime, end: datetime) -> list[dict]:
        last = end - timedelta(seconds=self.step)
        if last < start:
            return []
        try:
            return self.api.query(expr, last)
        except PromQLError as exc:
            if "cannot be reached" in str(exc):
                raise
            raise SourceError(f"source.queries: Prometheus refused {expr!r}: {exc}") from exc

    def reporting(self, start: datetime, end: datetime) -> list[str]:
        self.check()
        expr = f"count_over_time({self._over(self._present(), end - start)})"
        got = self._at_last_step(expr, start, end)
        return sorted(str(s["metric"][self.label]) for s in got if self.label in s["metric"])

    def newest(self, start: datetime, end: datetime) -> dict[str, datetime]:
        self.check()
        expr = f"max_over_time({self._over(f'timestamp({self._present()})', end - start)})"
        out = {}
        for s in self._at_last_step(expr, start, end):
            if self.label in s["metric"]:
                t = pd.Timestamp(float(s["value"][1]), unit="s").to_pydatetime()
                out[str(s["metric"][self.label])] = t
        return out

    def active_hours(self, start: datetime, end: datetime) -> list[datetime]:
        self.check()
        hours = list(pd.date_range(start, end, freq="h", inclusive="left").to_pydatetime())
        if not hours:
            return []
        expr = f"count(count_over_time({self._over(self._present(), HOUR)}))"
        tail = timedelta(seconds=self.step)
        try:
            got = self.api.query_range(expr, hours[0] + HOUR - tail, hours[-1] + HOUR - tail, 3600)
        except PromQLError as exc:
            if "cannot be reached" in str(exc):
                raise
            raise SourceError(f"source.queries: Prometheus refused {expr!r}: {exc}") from exc
        seen = {
            pd.Timestamp(float(t), unit="s").floor("h").to_pydatetime()
            for s in got
            for t, v in s.get("values") or []
            if float(v) > 0
        }
        return [h for h in hours if h in seen]

    def span(self) -> tuple[datetime, datetime] | None:
        """What the server keeps: from its clock's hour back over its retention time (rows
        are only asked for, never listed; a size-only retention keeps from the epoch on)."""
        self.check()
        now = datetime.fromtimestamp(self.api.now(), UTC).replace(tzinfo=None)
        kept = retention(self.api.runtime().get("storageRetention", ""))
        hour = now.replace(minute=0, second=0, microsecond=0)
        first = max(now - kept, datetime(1970, 1, 1)) if kept else datetime(1970, 1, 1)
        return first.replace(minute=0, second=0, microsecond=0), hour

    def close(self) -> None:
        self.api.close()

    def reported(self, among: Sequence[str] | None = None) -> set[str]:
        """Every value of the model label on any series the server keeps."""
        self.check()
        known = set(self.api.label_values(self.label))
        return known if among is None else known & {str(m) for m in among}
