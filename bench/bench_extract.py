"""How long the extract of one hour takes for a 1,000-model fleet, from Prometheus and PostgreSQL.

Loads the same synthetic rows (every model, nine metrics, one a minute, the hour and the hour
before) into a real Prometheus (OpenMetrics through `promtool tsdb create-blocks-from`, served
on a free loopback port) and into a throwaway PostgreSQL database (a `timestamptz` table with an
index on the time, read through the PostgreSQL provider's hook as a source apart from the
warehouse), then times what the extract step does for the hour: which models are in service,
and the hour's rows (`extract_hour` without history). Prints the figures and the machine's load;
asserts nothing. Target: at most 5 s each on 2 cores.

`--clients` also times the hour's nine range queries through Airflow's HttpHook (what the source
uses) and through `prometheus-api-client` (if importable), with the same parsing.

    python bench/bench_extract.py [--models 1000] [--repeat 3] [--only prometheus|postgres]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
import timeit
import urllib.request
import uuid
from datetime import datetime, timedelta
from pathlib import Path

#: The hour extracted (any past hour does; Prometheus keeps it with a long retention).
HOUR = datetime(2026, 11, 1, 10)
#: Each metric's synthetic range: (low, high).
RANGES = {
    "request_rate": (5.0, 50.0),
    "latency_p50_ms": (10.0, 20.0),
    "latency_p95_ms": (30.0, 40.0),
    "latency_p99_ms": (50.0, 80.0),
    "error_rate": (0.0, 0.01),
    "cpu_util": (0.2, 0.6),
    "memory_util": (0.3, 0.5),
    "replicas": (2.0, 2.0),
    "prediction_mean": (0.4, 0.6),
}


def timed(fn, repeat: int) -> tuple[float, object]:
    """The median seconds of `repeat` calls of `fn`, and what it returns."""
    return statistics.median(timeit.repeat(fn, number=1, repeat=repeat)), fn()


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load {one:.1f}/{five:.1f}/{fifteen:.1f} on {os.cpu_count()} cores"


def rows(models: int):  # -> pd.DataFrame
    """model_id, ts, the nine metrics: the hour before `HOUR` and `HOUR`, one row a minute."""
    import numpy as np
    import pandas as pd

    ids = [f"model-{i:04d}" for i in range(models)]
    ts = pd.date_range(HOUR - timedelta(hours=1), HOUR + timedelta(minutes=59), freq="min")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"model_id": np.repeat(ids, len(ts)), "ts": np.tile(ts, len(ids))})
    for name, (lo, hi) in RANGES.items():
        frame[name] = rng.uniform(lo, hi, len(frame)).round(4)
    return frame


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def openmetrics(frame, path: Path) -> None:
    """The rows as OpenMetrics gauges `mw_<metric>{model="..."}`, seconds timestamps."""
    stamps = frame["ts"].astype("datetime64[s]").astype("int64").astype(str)
    with path.open("w") as fh:
        for name in RANGES:
            fh.write(f"# TYPE mw_{name} gauge\n")
            lines = "mw_" + name + '{model="' + frame["model_id"] + '"} '
            lines = lines + frame[name].astype(str) + " " + stamps + "\n"
            fh.write("".join(lines.tolist()))
        fh.write("# EOF\n")


def serve_prometheus(frame, home: Path) -> tuple[subprocess.Popen, str]:
    server, tool = shutil.which("prometheus"), shutil.which("promtool")
    if not server or not tool:
        raise SystemExit("prometheus and promtool are needed (apt-get install prometheus)")
    openmetrics(frame, home / "h.om")
    t0 = time.perf_counter()
    subprocess.run(
        [tool, "tsdb", "create-blocks-from", "openmetrics", str(home / "h.om"), str(home / "data")],
        check=True,
        capture_output=True,
    )
    print(
        f"promtool loaded {len(frame) * len(RANGES):,} samples in {time.perf_counter() - t0:.1f} s"
    )
    (home / "prometheus.yml").write_text("scrape_configs: []\n")
    port = free_port()
    argv = [
        server,
        f"--config.file={home / 'prometheus.yml'}",
        f"--storage.tsdb.path={home / 'data'}",
        "--storage.tsdb.retention.time=100y",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/-/ready", timeout=2):
                return proc, url
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                raise
            time.sleep(0.2)  # readiness polling, not synchronisation


def time_extract(settings, repeat: int, label: str) -> None:
    """Time the extract step's reads of `HOUR` through the settings' source."""
    from modelwatch.ingest.connect import open_source
    from modelwatch.ingest.extract import extract_hour
    from modelwatch.warehouse import open_warehouse, spec_from_uri
    from modelwatch.warehouse.source_spec import source_spec

    with tempfile.TemporaryDirectory() as tmp:
        out = spec_from_uri(f"duckdb:///{tmp}/outputs.duckdb")
        spec = source_spec(settings, out)
        with open_warehouse(out, migrate=True) as wh, open_source(spec, settings, wh) as source:
            source.read(HOUR, HOUR + timedelta(minutes=5))  # connect, import, warm
            t_read, got = timed(lambda: source.read(HOUR, HOUR + timedelta(hours=1)), repeat)
            t_ex, ex = timed(
                lambda: extract_hour(wh, source, settings, HOUR, with_history=False), repeat
            )
    print(
        f"{label}: extract one hour {t_ex:5.2f} s ({len(ex.rows):,} rows, "
        f"{len(ex.expected):,} models in service); its rows alone {t_read:5.2f} s  [{load()}]"
    )
    assert len(got) == len(ex.rows)


def prometheus_part(args, frame) -> None:
    from modelwatch.config import Settings

    with tempfile.TemporaryDirectory() as tmp:
        proc, url = serve_prometheus(frame, Path(tmp))
        try:
            os.environ["AIRFLOW_CONN_MODELWATCH_PROMETHEUS"] = url
            queries = {name: f"mw_{name}" for name in RANGES}
            settings = Settings(source={"kind": "prometheus", "queries": queries})
            time_extract(settings, args.repeat, "Prometheus")
            if args.clients:
                compare_clients(url, args.repeat)
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def compare_clients(url: str, repeat: int) -> None:
    """The hour's nine range queries through HttpHook and through prometheus-api-client."""
    from modelwatch.ingest.promql import PrometheusApi, matrix_frame

    last = HOUR + timedelta(minutes=59)
    api = PrometheusApi("modelwatch_prometheus")

    def hook() -> int:
        return sum(
            len(matrix_frame(api.query_range(f"mw_{m}", HOUR, last, 60), "model", m, m))
            for m in RANGES
        )

    t_hook, n = timed(hook, repeat)
    print(f"clients: HttpHook {t_hook:5.2f} s for 9 range queries ({n:,} points)  [{load()}]")
    try:
        from prometheus_api_client import PrometheusConnect
    except ImportError:
        print("clients: prometheus-api-client not installed: not measured")
        return
    client = PrometheusConnect(url=url)

    def api_client() -> int:
        return sum(
            len(
                matrix_frame(client.custom_query_range(f"mw_{m}", HOUR, last, "60s"), "model", m, m)
            )
            for m in RANGES
        )

    t_api, n = timed(api_client, repeat)
    print(f"clients: prometheus-api-client {t_api:5.2f} s ({n:,} points)  [{load()}]")


def postgres_part(args, frame) -> None:
    import adbc_driver_postgresql.dbapi as pg

    from modelwatch.config import Settings

    name = f"mw_bench_{uuid.uuid4().hex[:8]}"
    with pg.connect(args.server, autocommit=True) as con, con.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    uri = args.server.rsplit("/", 1)[0] + f"/{name}"
    try:
        import pyarrow as pa

        table = pa.Table.from_pandas(frame.assign(ts=frame["ts"].dt.tz_localize("UTC")))
        with pg.connect(uri) as con, con.cursor() as cur:  # COPY: ts as timestamptz
            cur.adbc_ingest("fleet_metrics", table, mode="create")
            cur.execute("CREATE INDEX fleet_metrics_ts ON fleet_metrics (ts)")
            cur.execute("ANALYZE fleet_metrics")
            con.commit()
        os.environ["AIRFLOW_CONN_MODELWATCH_METRICS"] = uri
        source = {"kind": "sql", "conn_id": "modelwatch_metrics", "table": "fleet_metrics"}
        time_extract(Settings(source=source), args.repeat, "PostgreSQL")
    finally:
        with pg.connect(args.server, autocommit=True) as con, con.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", choices=("prometheus", "postgres"))
    ap.add_argument("--clients", action="store_true", help="also compare the HTTP clients")
    ap.add_argument(
        "--server",
        default=os.environ.get(
            "MODELWATCH_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="PostgreSQL server (an admin connection: the bench creates its own database)",
    )
    args = ap.parse_args(argv)
    frame = rows(args.models)
    print(
        f"fleet: {args.models:,} models x 9 metrics, one row a minute; hour {HOUR:%Y-%m-%d %H}:00"
    )
    if args.only in (None, "prometheus"):
        prometheus_part(args, frame)
    if args.only in (None, "postgres"):
        postgres_part(args, frame)
    print(f"(median of {args.repeat})")


if __name__ == "__main__":
    main()
