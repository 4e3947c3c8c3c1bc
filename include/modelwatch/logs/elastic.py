"""Read an hour's log lines from Elasticsearch or OpenSearch.

The connection is an Airflow connection (`logs.conn_id`, types `elasticsearch` or `opensearch`)
read through `modelwatch.connections`. When the Airflow provider for it is installed, its hook's
client runs the search (`ElasticsearchPythonHook(...).get_conn.search`, `OpenSearchHook(...)
.client.search`); otherwise the same request goes over plain HTTP. Either way it is the
documented search API: `POST /<index>/_search` with a `range` filter on the time field, sorted
by time, paged with `search_after` (from/size stops at 10,000 hits), each hit's `_source` a line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import pandas as pd

from modelwatch.connections import connection_fields, get_connection

Search = Callable[[dict[str, Any]], dict[str, Any]]


def search_body(
    ts_field: str,
    start: datetime,
    end: datetime,
    size: int,
    models: Sequence[str] | None = None,
    model_field: str = "model_id",
    after: list[Any] | None = None,
) -> dict[str, Any]:
    """One page's request body: lines with start <= ts < end (and these models), oldest first."""
    filters: list[dict[str, Any]] = [
        {
            "range": {
                ts_field: {
                    "gte": start.isoformat() + "Z",
                    "lt": end.isoformat() + "Z",
                    "format": "strict_date_optional_time",
                }
            }
        }
    ]
    if models is not None:
        filters.append({"terms": {model_field: list(models)}})
    body: dict[str, Any] = {
        "size": size,
        "query": {"bool": {"filter": filters}},
        "sort": [{ts_field: {"order": "asc"}}, {"_doc": {"order": "asc"}}],
        "track_total_hits": False,
    }
    if after is not None:
        body["search_after"] = after
    return body


def http_search(conn_id: str, index: str, timeout_s: float = 30.0) -> Search:
    """A search function for the connection: the provider's hook if installed, else HTTP."""
    conn = get_connection(conn_id)
    f = connection_fields(conn)
    kind = f["conn_type"]
    scheme = f["extra"].get("scheme") or ("https" if f["extra"].get("use_ssl") else "http")
    host = str(f["host"] or "localhost")
    base = host if "://" in host else f"{scheme}://{host}"
    if f["port"]:
        base = f"{base.rstrip('/')}:{f['port']}"
    try:
        if kind == "opensearch":
            from airflow.providers.opensearch.hooks.opensearch import OpenSearchHook

            client = OpenSearchHook(open_search_conn_id=conn_id, log_query=False).client
        else:
            from airflow.providers.elasticsearch.hooks.elasticsearch import (
                ElasticsearchPythonHook,
            )

            auth = {"basic_auth": (f["login"], f["password"])} if f["login"] else {}
            client = ElasticsearchPythonHook(hosts=[base], es_conn_args=auth).get_conn
        return lambda body: dict(client.search(index=index, body=body))
    except ImportError:
        pass
    import requests

    auth = (f["login"], f["password"] or "") if f["login"] else None
    url = f"{base.rstrip('/')}/{index}/_search"

    def search(body: dict[str, Any]) -> dict[str, Any]:
        resp = requests.post(url, json=body, auth=auth, timeout=timeout_s, allow_redirects=False)
        if resp.status_code != 200:
            raise RuntimeError(f"log search failed: HTTP {resp.status_code}: {resp.text[:200]}")
        return resp.json()

    return search


def read_lines(
    search: Search,
    columns: dict[str, str],
    start: datetime,
    end: datetime,
    page_size: int,
    models: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Every line of the window, page by page; `columns` maps our names to the index's."""
    rows: list[dict[str, Any]] = []
    after = None
    while True:
        body = search_body(columns["ts"], start, end, page_size, models, columns["model_id"], after)
        hits = (search(body).get("hits") or {}).get("hits") or []
        for h in hits:
            src = h.get("_source") or {}
            rows.append({ours: src.get(theirs) for ours, theirs in columns.items()})
        if len(hits) < page_size or not hits[-1].get("sort"):
            break
        after = hits[-1]["sort"]
    frame = pd.DataFrame(rows, columns=list(columns))
    if len(frame):
        ts = pd.to_datetime(frame["ts"], errors="coerce", utc=True)
        frame["ts"] = ts.dt.tz_localize(None)
    return frame
