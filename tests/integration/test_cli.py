"""The `modelwatch` command scripts: stdout holds only the result (one JSON document with
`--json`), logs go to stderr, refusals are non-zero with one line per problem and write
nothing, read commands never create a warehouse, and relative DuckDB paths mean the settings
file's folder. Against real DuckDB warehouses holding the simulated fleet's input tables.

Where stdout and stderr must be told apart as a shell sees them, the command runs as a
subprocess; the rest run `main([...])` in-process under capsys.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from modelwatch.cli.main import main
from modelwatch.sim.fleet import DEMO_DAY
from modelwatch.sim.seed import seed
from modelwatch.warehouse import open_warehouse, spec_from_uri
from tests.conftest import ROOT

H = DEMO_DAY + timedelta(hours=9)
HOUR = f"{H:%Y-%m-%dT%H:%MZ}"
WH_ENV = "AIRFLOW_CONN_MODELWATCH_WAREHOUSE"


def iso(h: int) -> str:
    return f"{DEMO_DAY + timedelta(hours=h):%Y-%m-%dT%H:%MZ}"


@pytest.fixture(scope="module")
def template(tmp_path_factory, fleet) -> Path:
    """The fleet's input tables only: no run has reached this warehouse yet."""
    path = tmp_path_factory.mktemp("cli") / "inputs.duckdb"
    with open_warehouse(spec_from_uri(f"duckdb:///{path}")) as wh:
        seed(wh, fleet)
    return path


@pytest.fixture
def wh_file(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh copy, the default warehouse connection of this test."""
    path = tmp_path / "w.duckdb"
    shutil.copy(template, path)
    monkeypatch.setenv(WH_ENV, f"duckdb:///{path}")
    monkeypatch.delenv("MODELWATCH_CONFIG", raising=False)
    return path


def tables(path: Path) -> dict[str, int]:
    """Every table of the file and its row count."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        names = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
        return {n: con.execute(f'SELECT COUNT(*) FROM "{n}"').fetchone()[0] for n in names}
    finally:
        con.close()


def written(path: Path) -> dict[str, int]:
    """The output tables (mw_*) with rows."""
    return {t: n for t, n in tables(path).items() if t.startswith("mw_") and n}


def cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None):
    """`python -m modelwatch.cli.main ARGS` as a shell would run it."""
    full = {**os.environ, **(env or {})}
    full["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT / "include"), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    return subprocess.run(
        [sys.executable, "-m", "modelwatch.cli.main", *args],
        capture_output=True,
        text=True,
        env=full,
        cwd=cwd,
        timeout=300,
    )


def config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "modelwatch.yaml"
    path.write_text(text)
    return path


TYPO = (
    "alerts:\n  receivers: [log, slack_ad]\n"
    "  channels: {slack_ads: {type: slack, conn_id: mw_cli_slack, optional: true}}\n"
)


# ----------------------------------------------------------------------------- stdout, stderr
def test_run_prints_one_line_per_hour_on_stdout_and_logs_only_on_stderr(wh_file) -> None:
    done = cli("run", "--hour", HOUR, "--until", iso(10))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line[:16] for line in lines] == [f"{H:%Y-%m-%d %H}:00", f"{H:%Y-%m-%d} 10:00"]
    assert all("scored" in line for line in lines)  # the summary, once, nothing else
    err = done.stderr.splitlines()
    assert any(line.startswith("INFO modelwatch.") for line in err)
    assert sum("--hour is deprecated" in line for line in err) == 1
    assert sum("--until is deprecated" in line for line in err) == 1


def test_quiet_keeps_only_warnings(wh_file, capsys) -> None:
    assert main(["-q", "run", "--from", HOUR]) == 0
    got = capsys.readouterr()
    assert got.out.startswith(f"{H:%Y-%m-%d %H}:00") and got.out.count("\n") == 1
    assert not [line for line in got.err.splitlines() if line.startswith("INFO")]
    assert main(["run", "--from", iso(10)]) == 0
    assert "INFO modelwatch." in capsys.readouterr().err


# ------------------------------------------------------------------------------- settings
def test_a_receiver_typo_fails_check_and_run_naming_it_before_any_write(
    wh_file, tmp_path, capsys
) -> None:
    path = config(tmp_path, TYPO)
    assert main(["--config", str(path), "check"]) == 1
    out = capsys.readouterr().out
    assert f"{path}:2: alerts.receivers[1]: receiver 'slack_ad'" in out
    assert main(["--config", str(path), "run", "--hour", HOUR]) == 2
    err = capsys.readouterr().err
    assert "receiver 'slack_ad'" in err and "did you mean 'slack_ads'" in err
    assert not [t for t in tables(wh_file) if t.startswith("mw_")]  # not even a table


# ------------------------------------------------------------------------------- alerts --json
def test_alerts_json_is_one_document_empty_before_any_run(wh_file, capsys) -> None:
    assert main(["alerts", "--open", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["silence", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["whatif", "--list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert not [t for t in tables(wh_file) if t.startswith("mw_")]  # reads created nothing


def test_alerts_lists_what_fires(wh_file, capsys) -> None:
    for h in (9, 10):
        assert main(["-q", "run", "--from", iso(h)]) == 0
    capsys.readouterr()
    assert main(["alerts", "--open", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    with open_warehouse(spec_from_uri(f"duckdb:///{wh_file}")) as wh:
        firing = wh.query("SELECT alert_id FROM mw_alerts WHERE resolved_hour IS NULL")
    assert sorted(a["alert_id"] for a in got) == sorted(firing["alert_id"]) != []
    assert all(a["resolved_hour"] is None and a["opened_hour"].endswith("Z") for a in got)
    model = got[0]["model_id"]
    assert main(["alerts", "--model", model, "--json"]) == 0
    assert {a["model_id"] for a in json.loads(capsys.readouterr().out)} == {model}
    assert main(["alerts", "--since", iso(11), "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == len(got)  # still open at 11:00
    assert main(["alerts", "--open"]) == 0
    text = capsys.readouterr().out.splitlines()
    assert len(text) == len(got) and all(" open  " in line for line in text)


# ------------------------------------------------------------------------------ unknown ids
def test_an_unknown_model_is_refused_naming_it_and_the_closest(wh_file, capsys) -> None:
    assert main(["run", "--hour", HOUR, "--model", "no-such-model"]) == 2
    assert "unknown model id 'no-such-model'" in capsys.readouterr().err
    assert main(["run", "--from", HOUR, "--model", "model-0001"]) == 2
    err = capsys.readouterr().err
    assert "'model-0001'" in err and "closest known: model-001, model-000" in err
    assert main(["baseline", "accept", "--model", "modle-001"]) == 2
    assert "closest known: model-001" in capsys.readouterr().err
    args = ["silence", "add", "--match", "model_id=model-99", "--by", "a", "--comment", "c"]
    assert main(args) == 2
    assert "'model-99'" in capsys.readouterr().err
    assert main(["whatif", "--name", "t", "--from", HOUR, "--to", iso(10), "--models", "x1"]) == 2
    assert "unknown model id 'x1'" in capsys.readouterr().err
    assert not [t for t in tables(wh_file) if t.startswith("mw_")]  # nothing written
    assert main([*args, "--allow-new"]) == 0  # said so: a model that is yet to report
    assert written(wh_file)["mw_silences"] == 1


# ---------------------------------------------------------------------------- read-only opens
@pytest.mark.parametrize(
    "argv",
    [
        ["check"],
        ["alerts", "--json"],
        ["silence", "list"],
        ["whatif", "--list"],
        ["evaluate", "--hints"],
    ],
)
def test_a_read_command_never_creates_a_warehouse(argv, tmp_path, monkeypatch, capsys) -> None:
    missing = tmp_path / "nowhere" / "w.duckdb"
    monkeypatch.setenv(WH_ENV, f"duckdb:///{missing}")
    assert main(argv) != 0
    got = capsys.readouterr()
    assert f"warehouse file {missing} does not exist" in got.out + got.err
    assert not missing.parent.exists()


def test_a_relative_duckdb_path_is_the_settings_files_folder(
    template, tmp_path, monkeypatch, capsys
) -> None:
    etc, elsewhere = tmp_path / "etc", tmp_path / "elsewhere"
    etc.mkdir()
    elsewhere.mkdir()
    shutil.copy(template, etc / "rel-w.duckdb")
    path = config(etc, "shard_max_models: 500\n")
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv(WH_ENV, "duckdb:///rel-w.duckdb")
    assert main(["--config", str(path), "run", "--from", HOUR]) == 0
    assert main(["--config", str(path), "alerts", "--json"]) == 0
    got = capsys.readouterr()
    assert json.loads(got.out.splitlines()[-1])  # the alerts of the hour just run
    said = [line for line in got.err.splitlines() if "relative DuckDB path" in line]
    assert said == [
        f"INFO modelwatch.warehouse.connect: warehouse: relative DuckDB path "
        f"rel-w.duckdb is {etc / 'rel-w.duckdb'}"
    ]
    assert list(elsewhere.iterdir()) == []
    assert written(etc / "rel-w.duckdb")["mw_runs"] == 1


# ---------------------------------------------------------------------------------- ranges
@pytest.mark.parametrize(
    "argv",
    [
        ["run", "--from", HOUR, "--to", HOUR],
        ["run", "--from", iso(10), "--to", HOUR],
        ["run", "--hour", iso(10), "--until", HOUR],
        ["whatif", "--name", "t", "--from", iso(10), "--to", HOUR],
        [
            "silence",
            "add",
            "--match",
            "team=a",
            "--from",
            iso(10),
            "--to",
            HOUR,
            "--by",
            "a",
            "--comment",
            "c",
        ],
    ],
)
def test_an_empty_or_reversed_range_is_refused_writing_nothing(wh_file, argv, capsys) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "is empty" in err or "is reversed" in err
    assert not [t for t in tables(wh_file) if t.startswith("mw_")]


def test_old_and_new_range_flags_mean_the_same_hours(wh_file, capsys) -> None:
    assert main(["-q", "run", "--hour", HOUR, "--until", iso(10)]) == 0
    old = capsys.readouterr()
    assert main(["-q", "run", "--from", HOUR, "--to", iso(11)]) == 0
    assert capsys.readouterr().out.splitlines()[0][:16] == old.out.splitlines()[0][:16]
    assert len(old.out.splitlines()) == 2
    assert old.err.count("deprecated") == 2


def test_warehouse_takes_a_connection_id_or_a_uri_everywhere(wh_file, monkeypatch, capsys):
    monkeypatch.delenv(WH_ENV)
    monkeypatch.setenv("AIRFLOW_CONN_MW_CLI_OTHER", f"duckdb:///{wh_file}")
    for where in ("mw_cli_other", f"duckdb:///{wh_file}"):
        assert main(["-q", "run", "--warehouse", where, "--from", HOUR]) == 0
        assert main(["silence", "list", "--warehouse", where, "--json"]) == 0
        assert main(["alerts", "--warehouse", where, "--json"]) == 0
        assert main(["check", "--warehouse", where, "--json"]) in (0, 1)
        out = capsys.readouterr().out.splitlines()
        assert json.loads(out[-1])["findings"][1]["state"] == "ok"  # the warehouse answers


def test_a_missing_file_is_one_line(tmp_path, capsys) -> None:
    gone = tmp_path / "gone.parquet"
    assert main(["replay", "--metrics", str(gone), "--out", str(tmp_path / "o.parquet")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [f"modelwatch replay: no such input file: {gone}"]
    assert main(["--config", str(tmp_path / "nope.yaml"), "alerts"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and str(tmp_path / "nope.yaml") in err[0]


def test_the_old_quiet_of_replay_is_no_progress(tmp_path, fleet, capsys) -> None:
    metrics = tmp_path / "m.parquet"
    fleet.metrics[fleet.metrics["model_id"] == "model-007"].head(300).to_parquet(metrics)
    out = tmp_path / "o.parquet"
    assert main(["replay", "--metrics", str(metrics), "--out", str(out), "--quiet"]) == 0
    got = capsys.readouterr()
    assert got.out.startswith("replayed 300 rows") and out.is_file()
    assert "--quiet is deprecated" in got.err and "%|" not in got.err  # no progress bar
