"""A Prometheus metrics source, against a real Prometheus (no mock): real five-minute
CloudWatch CPU series of four EC2 instances, loaded with promtool, read as four models.

Started on a free loopback port by these tests (`prometheus_world.py`); the connection is the
environment's `AIRFLOW_CONN_MODELWATCH_PROMETHEUS`, read through the HTTP provider's HttpHook.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pandas as pd
import pytest

from modelwatch.cli.main import main as cli
from modelwatch.config import Settings
from modelwatch.ingest.connect import open_source
from modelwatch.ingest.promql import MAX_POINTS, chunks
from modelwatch.ingest.source import SourceError
from modelwatch.warehouse import open_warehouse, spec_from_uri
from modelwatch.warehouse.source_spec import source_spec
from tests.integration.prometheus_world import ec2_cpu, openmetrics, prometheus_serving
from tests.integration.sources_world import run_hours, source_config

CONN = "AIRFLOW_CONN_MODELWATCH_PROMETHEUS"
HOUR = timedelta(hours=1)
#: Three hours of the series' tenth day: a week of history before them.
H0, H1 = datetime(2014, 2, 24, 10), datetime(2014, 2, 24, 12)
CPU = "ec2_cpu_utilization / 100"  # CloudWatch's percent as a fraction; keeps the model label
SOURCE = {
    "kind": "prometheus",
    "conn_id": "modelwatch_prometheus",
    "interval": "5m",
    "model_label": "model",
    "metrics": ["cpu_util"],
    "queries": {"cpu_util": CPU},
}


@pytest.fixture(scope="module")
def series() -> dict[str, pd.DataFrame]:
    return ec2_cpu()


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory, series) -> Iterator[str]:
    """A real Prometheus holding the four series (and a per-pod metric without aggregation)."""
    pods = {
        "pod_cpu": {
            m: rows.assign(value=rows["value"] / 100) for m, rows in list(series.items())[:1]
        }
    }
    text = openmetrics({"ec2_cpu_utilization": series})
    extra = openmetrics(pods, label="pod").removesuffix("# EOF\n")
    with prometheus_serving(extra + text, tmp_path_factory.mktemp("prometheus")) as url:
        yield url


@pytest.fixture
def connected(prometheus, monkeypatch) -> str:
    monkeypatch.setenv(CONN, prometheus)
    return prometheus


def source(settings: Settings):
    return open_source(source_spec(settings, spec_from_uri("duckdb:///:memory:")), settings)


def iso(t: datetime) -> str:
    return f"{t:%Y-%m-%dT%H:%M}Z"


def test_modelwatch_run_scores_every_model_and_hour_from_prometheus(
    connected, series, tmp_path, capsys
) -> None:
    """The Done-when run: `modelwatch run --from H0 --to H1+1h` with a Prometheus source
    exits 0, prints no traceback, and writes a scored row for every model and hour to the
    DuckDB warehouse, which holds no input table."""
    config = source_config(tmp_path / "mw.yaml", tmp_path / "staging", **SOURCE)
    out = f"duckdb:///{tmp_path / 'outputs.duckdb'}"
    run_hours(config, out, H0, H1, capsys)
    with open_warehouse(spec_from_uri(out)) as wh:
        scores = wh.query("SELECT hour, model_id, status FROM mw_scores ORDER BY hour, model_id")
        tables = wh.schema_tables("main")
    hours = [H0, H0 + HOUR, H1]
    assert list(zip(scores["hour"], scores["model_id"], strict=True)) == [
        (pd.Timestamp(h), m) for h in hours for m in sorted(series)
    ]
    assert scores["status"].eq("scored").all(), scores
    assert [t for t in tables if not t.startswith("mw_")] == []


def test_the_deprecated_hour_flags_still_run(connected, tmp_path, capsys) -> None:
    config = source_config(tmp_path / "mw.yaml", tmp_path / "staging", **SOURCE)
    out = f"duckdb:///{tmp_path / 'outputs.duckdb'}"
    argv = ["--config", str(config), "run", "--warehouse", out]
    assert cli([*argv, "--hour", iso(H0), "--until", iso(H0 + HOUR)]) == 0
    assert "deprecated" in capsys.readouterr().err
    with open_warehouse(spec_from_uri(out)) as wh:
        assert wh.query("SELECT COUNT(*) AS n FROM mw_scores")["n"].iloc[0] == 8


def test_an_hour_is_its_own_samples_at_the_interval(connected, series) -> None:
    """Twelve points an hour at a five-minute step, none at the next hour's start (Prometheus's
    range end is inclusive), each the series' value at or just before its step."""
    settings = Settings(source=SOURCE)
    with source(settings) as src:
        got = src.read(H0, H0 + HOUR)
        one = src.read(H0, H0 + HOUR, ["ec2-24ae8d"])
    assert got.groupby("model_id").size().to_dict() == {m: 12 for m in series}
    assert got["ts"].min() == pd.Timestamp(H0)
    assert got["ts"].max() == pd.Timestamp(H0 + HOUR - timedelta(minutes=5))
    raw = series["ec2-24ae8d"].set_index("timestamp")["value"] / 100
    assert one["cpu_util"].tolist() == pytest.approx(raw.loc[one["ts"]].tolist())
    assert one["model_id"].unique().tolist() == ["ec2-24ae8d"]
    assert got["request_rate"].isna().all()  # not listed: an empty column


def test_history_longer_than_a_query_holds_is_read_in_chunks(connected, series) -> None:
    """A week at 30 s is more than 11,000 points per series: read in chunks, no step twice."""
    settings = Settings(source={**SOURCE, "interval": "30s"})
    start, end = H0 - timedelta(days=7), H0
    assert len(chunks(start, end, 30)) == 2 and MAX_POINTS < 7 * 24 * 120
    with source(settings) as src:
        got = src.read(start, end, ["ec2-53ea38"])
    assert len(got) == len(got.drop_duplicates(["model_id", "ts"]))
    assert got["ts"].diff().dropna().eq(pd.Timedelta(seconds=30)).all()
    assert got["ts"].min() == pd.Timestamp(start) and got["ts"].max() < pd.Timestamp(end)


def test_presence_is_asked_of_the_server(connected, series) -> None:
    settings = Settings(source=SOURCE)
    first = min(s["timestamp"].min() for s in series.values()).floor("h")
    with source(settings) as src:
        assert src.reporting(H0, H0 + HOUR) == sorted(series)
        newest = src.newest(H0 - 2 * HOUR, H0 + HOUR)
        hours = src.active_hours(first - 2 * HOUR, first + 2 * HOUR)
        assert src.reported(["ec2-24ae8d", "ec2-nope"]) == {"ec2-24ae8d"}
        assert src.versions(["ec2-24ae8d"], H0, H0 + HOUR) is None
    assert set(newest.values()) == {H0 + HOUR - timedelta(minutes=5)}
    assert hours == [first.to_pydatetime(), (first + HOUR).to_pydatetime()]


def test_a_bad_query_names_the_metric_and_the_query(connected) -> None:
    settings = Settings(source={**SOURCE, "queries": {"cpu_util": "rate(ec2_cpu_utilization"}})
    with source(settings) as src, pytest.raises(SourceError) as err:
        src.read(H0, H0 + HOUR)
    assert "source.queries.cpu_util" in str(err.value)
    assert "rate(ec2_cpu_utilization" in str(err.value)


def test_series_without_the_model_label_name_the_label(connected) -> None:
    settings = Settings(source={**SOURCE, "queries": {"cpu_util": "pod_cpu"}})
    with source(settings) as src, pytest.raises(SourceError) as err:
        src.read(H0 - timedelta(days=9), H0 - timedelta(days=9) + HOUR)
    assert "without the label 'model'" in str(err.value)
    assert "source.model_label" in str(err.value)


def test_a_server_that_does_not_answer_names_the_connection(monkeypatch) -> None:
    from tests.integration.test_channels_servers import free_port

    monkeypatch.setenv(CONN, f"http://127.0.0.1:{free_port()}")
    with source(Settings(source=SOURCE)) as src, pytest.raises(SourceError) as err:
        src.check()
    assert "source.conn_id 'modelwatch_prometheus'" in str(err.value)


def test_the_span_is_what_the_server_keeps(connected) -> None:
    """A Prometheus source holds what its server's retention keeps, up to its clock's hour:
    the test server keeps 100 years, so every hour back to the epoch (what-if's window check)."""
    from datetime import UTC

    with source(Settings(source=SOURCE)) as src:
        first, last = src.span()
    now = datetime.now(UTC).replace(tzinfo=None)
    assert first == datetime(1970, 1, 1)
    assert last.minute == 0 and now - 2 * HOUR < last <= now
