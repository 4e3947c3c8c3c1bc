"""A real Prometheus for the source tests: history written as OpenMetrics, loaded with
`promtool tsdb create-blocks-from openmetrics`, served by `prometheus` on a free loopback port
with a retention long enough to keep it (the samples are years old)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from tests.integration.test_channels_servers import free_port, loopback_server, require_binary

#: The four real CloudWatch CPU series (see data/nab_ec2_cpu/README.md), model id -> file.
NAB = Path(__file__).parent / "data" / "nab_ec2_cpu"


def ec2_cpu() -> dict[str, pd.DataFrame]:
    """model id (the instance) -> its (timestamp, value) rows, value in percent."""
    out = {}
    for path in sorted(NAB.glob("ec2_cpu_utilization_*.csv")):
        frame = pd.read_csv(path, parse_dates=["timestamp"])
        out[f"ec2-{path.stem.rsplit('_', 1)[1]}"] = frame
    return out


def openmetrics(series: Mapping[str, Mapping[str, pd.DataFrame]], label: str = "model") -> str:
    """OpenMetrics text of gauges: metric -> model -> (timestamp, value) rows (naive UTC)."""
    lines = []
    for metric, per_model in series.items():
        lines.append(f"# TYPE {metric} gauge")
        for model, rows in per_model.items():
            stamps = (rows["timestamp"].astype("datetime64[s]").astype("int64")).tolist()
            for t, v in zip(stamps, rows["value"].tolist(), strict=True):
                lines.append(f'{metric}{{{label}="{model}"}} {v!r} {t}')
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


def prometheus_binaries() -> tuple[str, str]:
    server = require_binary(shutil.which("prometheus"), "prometheus")
    tool = require_binary(shutil.which("promtool"), "prometheus")
    return server, tool


@contextmanager
def prometheus_serving(history: str, home: Path) -> Iterator[str]:
    """A Prometheus holding `history` (OpenMetrics text); yields its URL once ready."""
    server, tool = prometheus_binaries()
    home.mkdir(parents=True, exist_ok=True)
    source, data = home / "history.om", home / "data"
    source.write_text(history)
    subprocess.run(
        [tool, "tsdb", "create-blocks-from", "openmetrics", str(source), str(data)],
        check=True,
        capture_output=True,
    )
    config = home / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 1m\nscrape_configs: []\n")
    port = free_port()
    argv = [
        server,
        f"--config.file={config}",
        f"--storage.tsdb.path={data}",
        "--storage.tsdb.retention.time=100y",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    with loopback_server(argv, port, home / "prometheus.log") as url:
        yield url
