"""`modelwatch check`: is this setup able to run, and to page someone? Without running.

    modelwatch [--config FILE] check [--json]

In order: the settings load (with their cross-checks; a problem there stops the check, one line
per problem); the warehouse answers and holds the metrics source with its key columns; the
staging and report stores answer (a local folder needs nothing); every channel's connection
exists with the fields its type needs and its endpoint answers, without sending
(alerting/channels/probe.py); the Pushgateway, if configured, is ready; the Airflow
side (the warehouse pool, the DAGs parsed) when a metadata database is configured, else an
info line. Exit 0 when nothing is a problem, 1 otherwise; stdout holds one line per finding
(`--json`: one document). Read-only: it never creates a warehouse file or a table.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import asdict, dataclass
from typing import Any

from modelwatch.airflow.pool import how_to_create, metadata_database, pool_name
from modelwatch.cli.common import add_json_arg, add_warehouse_arg, print_json, spec_from_args
from modelwatch.config import ConfigError, Settings, load_settings

OK, INFO, SKIPPED, PROBLEM = "ok", "info", "skipped", "problem"
DAG_IDS = ("model_health", "model_training")


@dataclass(frozen=True)
class Finding:
    check: str
    state: str
    message: str


def check_warehouse(args: argparse.Namespace, settings: Settings) -> list[Finding]:
    """The warehouse opens (never created here), and the metrics source answers with its key
    columns: the warehouse's own table, or a table or Prometheus elsewhere (checked whatever
    became of the warehouse: it is another connection)."""
    from modelwatch.warehouse import open_warehouse, require_existing
    from modelwatch.warehouse.source_spec import source_spec

    try:
        spec = spec_from_args(args)
        source = source_spec(settings, spec)
    except (RuntimeError, ValueError, LookupError, OSError) as exc:
        return [Finding("source", PROBLEM, one_line(exc))]
    found: list[Finding] = []
    try:
        with open_warehouse(require_existing(spec)) as wh:
            wh.query("SELECT 1 AS one")
            found.append(Finding("warehouse", OK, f"{spec.describe()} answers"))
            if source.native:
                return [*found, check_source(source, settings, wh)]
    except (RuntimeError, ValueError, LookupError, OSError) as exc:
        found.append(Finding("warehouse", PROBLEM, one_line(exc)))
        if source.native:
            return found
    return [*found, check_source(source, settings, None)]


def check_source(source: Any, settings: Settings, wh: Any) -> Finding:
    """The metrics source answers, with its key columns (`MetricsSource.check`)."""
    from modelwatch.ingest.connect import open_source

    try:
        with open_source(source, settings, wh) as metrics:
            metrics.check()
            return Finding("source", OK, f"{metrics.describe()} answers with its key columns")
    except (RuntimeError, ValueError, LookupError, OSError) as exc:
        return Finding("source", PROBLEM, one_line(exc))


def one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]


def check_files(settings: Settings) -> list[Finding]:
    """Staging (with the detector cache) and the reports: a local folder is created by the
    first run; a store must answer through its connection (one listing, nothing written)."""
    from modelwatch.folders import Folders
    from modelwatch.storage import describe, is_local

    try:
        folders = Folders.from_env(settings)
    except (RuntimeError, ValueError, LookupError, OSError) as exc:
        return [Finding("staging", PROBLEM, one_line(exc))]
    found = []
    for name, root in (("staging", folders.staging), ("reports", folders.reports)):
        if is_local(root):
            found.append(Finding(name, OK, f"local folder {root}"))
            continue
        try:
            there = root.exists()
        except Exception as exc:  # the store's own errors: auth, network, a missing bucket
            found.append(Finding(name, PROBLEM, f"{describe(root)}: {one_line(exc)}"))
            continue
        state = "answers" if there else "answers (the folder appears with the first run)"
        found.append(Finding(name, OK, f"store {describe(root)} {state}"))
    return found


def check_channels(settings: Settings) -> list[Finding]:
    from modelwatch.alerting.channels.probe import probe

    cfg = settings.alerts
    out = []
    for name, ch in sorted(cfg.channels.items()):
        p = probe(name, ch)
        out.append(Finding(f"receiver {name}", p.state, p.message))
    used = {*cfg.receivers, *(r for route in cfg.routes for r in route.receivers)}
    if "log" in used and "log" not in cfg.channels:
        out.append(Finding("receiver log", OK, "the task log"))
    return out


def check_pushgateway() -> list[Finding]:
    import urllib.request

    from modelwatch.alerting.redaction import redact
    from modelwatch.pipeline.selfmetrics import CONN_ID, TIMEOUT_S, gateway

    try:
        gw = gateway()
    except Exception as exc:  # an unparsable connection
        return [Finding("pushgateway", PROBLEM, f"connection {CONN_ID}: {exc}")]
    if gw is None:
        return [Finding("pushgateway", INFO, f"connection {CONN_ID} not defined: no self-metrics")]
    try:
        with urllib.request.urlopen(f"{gw.url}/-/ready", timeout=TIMEOUT_S) as r:
            status = r.status
    except Exception as exc:
        return [Finding("pushgateway", PROBLEM, redact(f"{gw.url} is not ready: {exc}"))]
    if status != 200:
        return [Finding("pushgateway", PROBLEM, f"{gw.url}/-/ready answered HTTP {status}")]
    return [Finding("pushgateway", OK, f"{gw.url} is ready")]


def check_airflow() -> list[Finding]:
    """The pool and the parsed DAGs, from the metadata database; an info line without one."""
    if metadata_database() is None:
        return [
            Finding("airflow", INFO, "no metadata database configured: pool and DAGs not checked")
        ]
    from airflow.models.dag import DagModel
    from airflow.models.errors import ParseImportError
    from airflow.models.pool import Pool
    from airflow.utils.session import create_session
    from sqlalchemy import select

    name = pool_name()
    out = []
    try:
        with create_session() as session:
            pool = session.scalar(select(Pool).where(Pool.pool == name))
            dags = set(session.scalars(select(DagModel.dag_id).where(DagModel.dag_id.in_(DAG_IDS))))
            errors = list(session.scalars(select(ParseImportError.filename)))
    except Exception as exc:
        why = " ".join(str(exc).split())[:200]
        return [Finding("airflow", PROBLEM, f"metadata database not usable: {why}")]
    if pool is None:
        out.append(
            Finding(
                "airflow pool",
                PROBLEM,
                f"pool {name} does not exist: {how_to_create(name, 1)}",
            )
        )
    else:
        out.append(Finding("airflow pool", OK, f"pool {name}: {pool.slots} slot(s)"))
    for dag_id in DAG_IDS:
        if dag_id in dags:
            out.append(Finding(f"dag {dag_id}", OK, "parsed"))
        else:
            out.append(Finding(f"dag {dag_id}", PROBLEM, "not in the metadata database"))
    out += [Finding("dag import", PROBLEM, f"import error in {f}") for f in sorted(errors)]
    return out


def run_checks(args: argparse.Namespace) -> list[Finding]:
    try:
        settings = load_settings(getattr(args, "config", None))
    except ConfigError as exc:
        return [Finding("settings", PROBLEM, line) for line in exc.problems]
    where = getattr(args, "config", None) or os.environ.get("MODELWATCH_CONFIG") or "built-in"
    found = [Finding("settings", OK, f"{where} loads; receivers name defined channels")]
    found += check_warehouse(args, settings)
    found += check_files(settings)
    found += check_channels(settings)
    found += check_pushgateway()
    found += check_airflow()
    return found


def cmd_check(args: argparse.Namespace) -> int:
    found = run_checks(args)
    ok = not any(f.state == PROBLEM for f in found)
    if args.json:
        doc: dict[str, Any] = {"ok": ok, "findings": [asdict(f) for f in found]}
        print_json(doc)
    else:
        for f in found:
            print(f"{f.state:8} {f.check}: {f.message}")
    return 0 if ok else 1


def add_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    sp = sub.add_parser("check", help="check the settings, connections and endpoints")
    add_json_arg(sp)
    add_warehouse_arg(sp)
    sp.set_defaults(func=cmd_check)
