"""The shipped Prometheus rules and Grafana dashboard (deploy/) work on what modelwatch really
writes: the rules pass `promtool check rules` and their unit tests (`promtool test rules`), the
dashboard's PromQL parses and names only pushed metrics, and its SQL runs on a real PostgreSQL
warehouse after an hour was processed. No Grafana server runs here, so its macros are expanded
the way its PostgreSQL data source documents them."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest

from modelwatch.pipeline.runner import run_local
from modelwatch.pipeline.selfmetrics import METRICS
from modelwatch.sim.fleet import DEMO_DAY
from modelwatch.warehouse import open_warehouse
from tests.conftest import ROOT, make_warehouse, pg_database

RULES = ROOT / "deploy" / "prometheus" / "modelwatch-rules.yml"
RULE_TESTS = ROOT / "deploy" / "prometheus" / "modelwatch-rules.test.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "modelwatch-dashboard.json"


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        reason = "promtool not found (apt-get install prometheus)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return found


def run_promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([promtool(), *args], cwd=cwd, capture_output=True, text=True)


def targets(kind: str) -> list[dict]:
    dash = json.loads(DASHBOARD.read_text())
    return [
        t for p in dash["panels"] for t in p.get("targets", []) if p["datasource"]["type"] == kind
    ]


def test_the_rules_are_valid_and_fire_after_two_hours_without_success() -> None:
    checked = run_promtool("check", "rules", RULES.name, cwd=RULES.parent)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = run_promtool("test", "rules", RULE_TESTS.name, cwd=RULES.parent)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "ModelwatchNotSucceeding" in RULES.read_text()


def test_the_dashboards_promql_parses_and_names_pushed_metrics(tmp_path: Path) -> None:
    exprs = [t["expr"].replace("$kind", "scheduled") for t in targets("prometheus")]
    assert exprs
    used = {m for e in exprs for m in re.findall(r"\bmodelwatch_[a-z_]+", e)}
    assert used and used <= set(METRICS), used - set(METRICS)
    rules = {"groups": [{"name": "dash", "rules": []}]}
    for i, e in enumerate(exprs):
        rules["groups"][0]["rules"].append({"record": f"dash:expr{i}", "expr": e})
    (tmp_path / "dash.yml").write_text(json.dumps(rules))  # JSON is YAML
    checked = run_promtool("check", "rules", "dash.yml", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def grafana_sql(raw: str) -> str:
    """Grafana's `$__timeFilter(col)`, expanded to a range that holds every simulated hour."""
    return re.sub(
        r"\$__timeFilter\((\w+)\)",
        r"\1 BETWEEN '2026-01-01T00:00:00Z' AND '2027-01-01T00:00:00Z'",
        raw,
    )


def test_the_dashboards_sql_runs_on_a_postgres_warehouse(fleet, settings) -> None:
    queries = [grafana_sql(t["rawSql"]) for t in targets("grafana-postgresql-datasource")]
    assert queries and all("$__" not in q for q in queries)
    with pg_database() as uri:
        spec = make_warehouse(uri, fleet)
        run_local(DEMO_DAY + timedelta(hours=9), spec, settings)
        with open_warehouse(spec) as wh:
            results = [wh.query(q) for q in queries]
    assert all(len(r.columns) >= 2 for r in results)
    per_hour = [r for r in results if "time" in r.columns]
    assert per_hour and all(len(r) >= 1 for r in per_hour)
