"""Prometheus's HTTP API, through the connection's Airflow `HttpHook`, and its answers as frames.

Why `HttpHook` (the HTTP provider modelwatch's channels use already) rather than
`prometheus-api-client`: the connection (host, TLS, basic auth, headers in its extra) is read
the Airflow way, its secrets masked like every other connection's, with no dependency added;
both spend their time in the same places (the server's evaluation, `requests`, JSON), and the
measured difference is within noise (docs/decisions/0003-metrics-sources.md).

Range queries follow what Prometheus does (checked against 2.42): the end is inclusive, so a
window [start, end) is asked as start .. end - step; a series holds at most 11,000 points per
query, so longer windows are asked in chunks; the step is the source's interval, so each
point is one sample slot. Queries are sent as POST forms (a long expression never meets a URL
length limit); an error names the metric and the query.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from modelwatch import schema
from modelwatch.ingest.source import SourceError

#: The most points one range query may return per series (Prometheus's own limit).
MAX_POINTS = 11_000
#: Seconds a request may take.
TIMEOUT_S = 120.0


class PromQLError(SourceError):
    """Prometheus refused or failed a request; the message says which and why."""


def epoch(t: datetime) -> float:
    """A naive-UTC time as Unix seconds."""
    return t.replace(tzinfo=UTC).timestamp()


def steps(start: datetime, end: datetime, step_s: int) -> tuple[datetime, datetime] | None:
    """The first and last evaluation time of the window [start, end) at `step_s`: the first
    multiple of the step at or after `start`, the last before `end`; None when there is none."""
    s = math.ceil(epoch(start) / step_s) * step_s
    e = math.ceil(epoch(end) / step_s) * step_s - step_s
    if e < s:
        return None
    to = lambda x: datetime.fromtimestamp(x, UTC).replace(tzinfo=None)  # noqa: E731
    return to(s), to(e)


def chunks(start: datetime, end: datetime, step_s: int) -> list[tuple[datetime, datetime]]:
    """The window [start, end) as inclusive (first, last) evaluation ranges of at most
    `MAX_POINTS` points each."""
    span = steps(start, end, step_s)
    if span is None:
        return []
    first, last = span
    width = timedelta(seconds=step_s * (MAX_POINTS - 1))
    out = []
    while first <= last:
        stop = min(first + width, last)
        out.append((first, stop))
        first = stop + timedelta(seconds=step_s)
    return out


def literal(text: str) -> str:
    """A PromQL string literal holding `text` exactly (JSON's escapes, ASCII only, are a
    subset of PromQL's): model ids are data, never PromQL."""
    return json.dumps(str(text), ensure_ascii=True)


def only_models(query: str, label: str, models: Sequence[str]) -> str:
    """`query` restricted to the series whose `label` is one of `models`: joined with a set
    of constant series carrying those values, so nothing about the query itself changes."""
    ids = [
        f'label_replace(vector(1), {literal(label)}, {literal(m)}, "", "")'
        for m in dict.fromkeys(models)
    ]
    return f"({query}) and on ({label}) ({' or '.join(ids)})"


class PrometheusApi:
    """Prometheus's HTTP API over one Airflow connection (`http`, e.g. AIRFLOW_CONN_..=
    http://host:9090)."""

    def __init__(self, conn_id: str, timeout_s: float = TIMEOUT_S) -> None:
        self.conn_id = conn_id
        self.timeout_s = timeout_s
        self._hook: Any = None
        self._session: Any = None

    def _call(self, method: str, endpoint: str, data: dict[str, Any] | None = None) -> Any:
        """One request, on the hook's session (kept for the source's life: one connection
        lookup and one TCP connection for all its queries)."""
        import requests
        from airflow.providers.http.hooks.http import HttpHook

        options = {"timeout": self.timeout_s, "check_response": False, "allow_redirects": False}
        try:
            if self._session is None:
                self._hook = HttpHook(method="POST", http_conn_id=self.conn_id)
                self._session = self._hook.get_conn()
            url = self._hook.url_from_endpoint(endpoint)
            request = self._session.prepare_request(requests.Request(method, url, data=data))
            resp = self._hook.run_and_check(self._session, request, options)
        except Exception as exc:  # connection refused, DNS, TLS: the server is not reachable
            raise PromQLError(
                f"Prometheus at source.conn_id {self.conn_id!r} cannot be reached: "
                f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            ) from exc
        try:
            body = resp.json()
        except ValueError:
            body = {}
        if resp.status_code != 200 or body.get("status") != "success":
            why = body.get("error") or f"HTTP {resp.status_code}: {resp.text[:200]}"
            raise PromQLError(str(why))
        return body.get("data")

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def ready(self) -> dict[str, Any]:
        """The server's build info (it answers, and it is a Prometheus)."""
        return self._call("GET", "/api/v1/status/buildinfo") or {}

    def query_range(
        self, query: str, first: datetime, last: datetime, step_s: int
    ) -> list[dict[str, Any]]:
        """The series of `query` evaluated at first, first + step, ..., last (inclusive)."""
        data = {"query": query, "start": epoch(first), "end": epoch(last), "step": step_s}
        got = self._call("POST", "/api/v1/query_range", data)
        return list(got.get("result") or [])

    def query(self, query: str, at: datetime) -> list[dict[str, Any]]:
        """The instant vector of `query` at `at`."""
        got = self._call("POST", "/api/v1/query", {"query": query, "time": epoch(at)})
        return list(got.get("result") or [])

    def now(self) -> float:
        """The server's clock, in Unix seconds."""
        got = self._call("POST", "/api/v1/query", {"query": "time()"})
        return float(got["result"][1])

    def runtime(self) -> dict[str, Any]:
        """The server's runtime information (its retention among them)."""
        return self._call("GET", "/api/v1/status/runtimeinfo") or {}

    def label_values(self, label: str) -> list[str]:
        """Every value `label` has on any series the server keeps."""
        return [str(v) for v in self._call("GET", f"/api/v1/label/{label}/values") or []]


def matrix_frame(result: list[dict[str, Any]], label: str, column: str, what: str) -> pd.DataFrame:
    """A range query's series as rows (model_id, ts, `column`). Every series must carry
    `label`, once per model: `what` names the setting in the error otherwise."""
    models: list[str] = []
    sizes: list[int] = []
    for series in result:
        labels = series.get("metric") or {}
        if label not in labels:
            shown = ", ".join(f"{k}={v}" for k, v in sorted(labels.items())) or "no labels"
            raise SourceError(
                f"{what} returns a series without the label {label!r} (source.model_label): "
                f"{{{shown[:200]}}}; aggregate by ({label}) or set source.model_label"
            )
        models.append(str(labels[label]))
        sizes.append(len(series.get("values") or []))
    if len(set(models)) != len(models):
        twice = sorted({m for m in models if models.count(m) > 1})
        raise SourceError(
            f"{what} returns several series for model {twice[0]!r}: it must give one series "
            f"per model (aggregate, e.g. avg by ({label}) (...))"
        )
    points = [p for series in result for p in series.get("values") or []]
    stamps = np.fromiter((p[0] for p in points), dtype=np.float64, count=len(points))
    values = np.array([p[1] for p in points], dtype=np.float64) if points else np.empty(0)
    return pd.DataFrame(
        {
            schema.MODEL_ID: np.repeat(np.array(models, dtype=object), sizes),
            schema.TS: pd.to_datetime(stamps, unit="s").astype("datetime64[us]"),
            column: values,
        }
    )
