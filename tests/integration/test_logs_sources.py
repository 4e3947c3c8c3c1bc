"""Log sources other than the warehouse: JSON-lines files, and Elasticsearch/OpenSearch.

Elasticsearch and OpenSearch cannot run here, and their Airflow providers are not installed:
the search path is tested against the documented search API wire contract (`POST
/<index>/_search` with a range filter, sort and `search_after` paging; hits in
`hits.hits[]._source` with their `sort` values) served by a loopback HTTP server.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import pytest

from modelwatch.config import LogsConfig, Settings
from modelwatch.logs import elastic
from modelwatch.logs.sources import from_jsonl
from modelwatch.logs.step import mine_hour
from modelwatch.warehouse import open_warehouse

H = datetime(2026, 11, 1, 9)


def test_jsonl_files_are_read_with_bad_lines_counted(tmp_path) -> None:
    path = tmp_path / "logs-2026-11-01.jsonl"
    good = {"ts": "2026-11-01T09:05:00Z", "model_id": "m1", "level": "ERROR", "message": "boom 1"}
    other_hour = dict(good, ts="2026-11-01T11:00:00Z")
    path.write_bytes(
        (json.dumps(good) + "\n" + json.dumps(other_hour) + "\nnot json\n").encode()
        + b'{"ts": "2026-11-01T09:06:00Z", "model_id": "m1", "level": "INFO", "message": "\xff"}\n'
    )
    cfg = LogsConfig(source="jsonl", path=str(tmp_path / "logs-{date}.jsonl"))
    frame, bad = from_jsonl(cfg, H, H.replace(hour=10), None)
    assert bad == 0  # the line that is not JSON follows the 11:00 line: it counts at 11:00
    assert frame["message"].tolist() == ["boom 1", "\ufffd"]
    assert from_jsonl(cfg, H.replace(hour=11), H.replace(hour=12), None)[1] == 1


def test_jsonl_rows_without_a_time_are_counted_once_a_day_not_every_hour(tmp_path) -> None:
    """A null or unreadable ts, and a line that is no JSON, count in one hour of the day (the
    hour of the timestamped line before them), not in each of the 24 hours that read the file."""
    path = tmp_path / "logs-2026-11-01.jsonl"
    rows = [
        {"ts": "2026-11-01T03:05:00Z", "model_id": "m1", "level": "INFO", "message": "a"},
        {"ts": None, "model_id": "m1", "level": "INFO", "message": "no time"},
        {"ts": "yesterday-ish", "model_id": "m1", "level": "INFO", "message": "bad time"},
        {"ts": "2026-11-01T07:00:00+02:00", "model_id": "m1", "level": "INFO", "message": "b"},
    ]
    text = "\n".join(json.dumps(r) for r in rows[:2]) + "\n{not json\n"
    path.write_text(text + "\n".join(json.dumps(r) for r in rows[2:]) + "\n")
    cfg = LogsConfig(source="jsonl", path=str(tmp_path / "logs-{date}.jsonl"))
    settings = Settings(logs=cfg)
    day = datetime(2026, 11, 1)
    with _duck(tmp_path) as wh:
        for h in range(24):
            mine_hour(wh, settings, day.replace(hour=h), None, "run")
        rejects = wh.query("SELECT hour, reason, n FROM mw_log_rejects ORDER BY reason")
        counts = wh.query("SELECT hour, n FROM mw_log_counts ORDER BY hour")
    assert sorted(zip(rejects["reason"], rejects["n"], strict=True)) == [
        ("invalid_json", 1),
        ("null_ts", 2),
    ]
    assert set(rejects["hour"]) == {datetime(2026, 11, 1, 3)}
    assert counts["hour"].tolist() == [datetime(2026, 11, 1, 3), datetime(2026, 11, 1, 5)]


def _duck(tmp_path):
    from modelwatch.warehouse import spec_from_uri

    return open_warehouse(spec_from_uri(f"duckdb:///{tmp_path / 'w.duckdb'}"), migrate=True)


class SearchAPI(BaseHTTPRequestHandler):
    """The search API's contract: range filter on ts, sort ts asc, size, search_after."""

    docs: ClassVar[list[dict]] = []
    requests: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append({"path": self.path, "body": body})
        rng = body["query"]["bool"]["filter"][0]["range"]["@timestamp"]
        hits = sorted(
            (d for d in self.docs if rng["gte"] <= d["@timestamp"] < rng["lt"]),
            key=lambda d: d["@timestamp"],
        )
        after = body.get("search_after")
        if after:
            hits = [d for d in hits if [d["@timestamp"], d["_n"]] > after]
        page = hits[: body["size"]]
        out = {"hits": {"hits": [{"_source": d, "sort": [d["@timestamp"], d["_n"]]} for d in page]}}
        data = json.dumps(out).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def search_server(monkeypatch):
    SearchAPI.docs = [
        {
            "@timestamp": f"2026-11-01T09:{m:02d}:00Z",
            "_n": m,
            "service": "m1",
            "severity": "ERROR",
            "msg": f"timeout calling feature-store-eu after {1000 + m} ms",
        }
        for m in range(7)
    ] + [
        {
            "@timestamp": "2026-11-01T10:00:00Z",
            "_n": 99,
            "service": "m1",
            "severity": "INFO",
            "msg": "next hour",
        }
    ]
    SearchAPI.requests = []
    server = HTTPServer(("127.0.0.1", 0), SearchAPI)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv(
        "AIRFLOW_CONN_MODELWATCH_LOGS",
        json.dumps(
            {"conn_type": "elasticsearch", "host": "127.0.0.1", "port": server.server_address[1]}
        ),
    )
    yield server
    server.shutdown()


def test_an_hour_is_read_page_by_page_from_the_search_api(search_server, empty_wh) -> None:
    cfg = LogsConfig(
        source="elasticsearch",
        index="model-logs-*",
        page_size=3,
        columns={"ts": "@timestamp", "model_id": "service", "level": "severity", "message": "msg"},
    )
    with open_warehouse(empty_wh) as wh:
        got = mine_hour(wh, Settings(logs=cfg), H, ["m1"], "run")
        counts = wh.query("SELECT template, n FROM mw_log_counts")
    assert got["lines"] == 7
    assert counts.to_dict("records") == [
        {"template": "timeout calling feature-store-eu after <*> ms", "n": 7}
    ]
    paths = {r["path"] for r in SearchAPI.requests}
    assert paths == {"/model-logs-*/_search"}
    hour_pages = [
        r["body"]
        for r in SearchAPI.requests
        if r["body"]["query"]["bool"]["filter"][0]["range"]["@timestamp"]["gte"]
        == "2026-11-01T09:00:00Z"
    ]
    assert len(hour_pages) == 3 and hour_pages[1]["search_after"] == ["2026-11-01T09:02:00Z", 2]
    assert hour_pages[0]["sort"][0] == {"@timestamp": {"order": "asc"}}


def test_the_request_body_is_the_documented_shape() -> None:
    body = elastic.search_body("ts", H, H.replace(hour=10), 100, ["m1"], "model_id")
    assert body["query"]["bool"]["filter"] == [
        {
            "range": {
                "ts": {
                    "gte": "2026-11-01T09:00:00Z",
                    "lt": "2026-11-01T10:00:00Z",
                    "format": "strict_date_optional_time",
                }
            }
        },
        {"terms": {"model_id": ["m1"]}},
    ]
    assert body["size"] == 100 and "search_after" not in body
