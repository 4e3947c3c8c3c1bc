"""The hourly steps, one function each: `step(run, inputs) -> output`.

`inputs` holds the outputs of the steps named in the step's `after` and `uses`
(`pipeline.table`); a mapped step gets its item as `shard` and its position as `index`; the
wait step gets the wall clock as `now`. Outputs are small JSON-safe values: large data moves
through the run's staged Parquet files (`Run.staging`), never through XCom. Each step is a
thin load -> compute -> save around its stage's pure core, and writes exactly the rows its hour
and models own, so every step can be rerun.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

import pandas as pd

from modelwatch import schema
from modelwatch.alerting.pipeline import one_line
from modelwatch.alerting.step import alert_hour
from modelwatch.alerting.tables import open_or_owed
from modelwatch.detection import baselines
from modelwatch.detection.per_model import ModelDetection
from modelwatch.detection.score import (
    SCORE_COLUMNS,
    STATUS_SCORED,
    detect_models,
    excluded_verdict,
)
from modelwatch.detection.tables import decide_hour, read_detection_changes, stage_detection_changes
from modelwatch.drift.tables import write_drift_hour
from modelwatch.ingest.connect import open_source
from modelwatch.ingest.extract import (
    HISTORY_ROW_GROUP,
    extract_hour,
    known_models,
    read_training_history,
    write_training_history,
)
from modelwatch.ingest.landing import check_landing, waits
from modelwatch.ingest.notes import fleet_notes
from modelwatch.ingest.presence import record_retirements
from modelwatch.ingest.validate import validate_hour
from modelwatch.logs.step import mine_hour
from modelwatch.pipeline import approval
from modelwatch.pipeline.summary import record_hour
from modelwatch.pipeline.table import ALERT, ALL_CLEAR, APPROVE, DISPATCH, DRIFT, REMEDIATE
from modelwatch.remediation import outbox
from modelwatch.remediation.targets import build_target, target_connection
from modelwatch.run import Run, scope_models
from modelwatch.sharding import split_models
from modelwatch.storage import read_parquet, read_parquet_of, write_parquet
from modelwatch.warehouse import open_warehouse

log = logging.getLogger(__name__)

Inputs = Mapping[str, Any]


def failed(exc: BaseException) -> dict[str, str]:
    """The output of an enrichment that failed: why, in one line (its findings are lost for
    the hour, never the alerts)."""
    return {"failed": f"{type(exc).__name__}: {exc}".splitlines()[0][:300]}


def resolve(run: Run, inputs: Inputs) -> dict[str, Any]:
    """The run itself, as every later task reads it (the Airflow adapter builds it)."""
    return run.to_dict()


def landed(run: Run, inputs: Inputs) -> bool:
    """True once the hour's rows have landed, or the landing deadline has passed, or the run
    does not wait (only scheduled runs do); see ingest/landing.py."""
    if not waits(run.mode.run_type):  # answered without opening anything
        log.info("%s run of %s: no wait for late rows", run.mode.run_type, run.hour)
        return True
    with open_source(run.source, run.settings) as source:
        return check_landing(source, run, inputs["now"]).done


def extract(run: Run, inputs: Inputs) -> dict[str, Any]:
    """Stage the hour's rows, the baselines in effect (decided here from stored facts), the
    per-model detection overrides, and the history of the models whose detector for the day
    is not fitted yet (none, on most hours)."""
    staged = run.staging
    staged.folder.mkdir(parents=True, exist_ok=True)
    settings = run.settings
    with (
        open_warehouse(run.warehouse, migrate=True) as wh,
        open_source(run.source, settings, wh) as source,
    ):
        for note in fleet_notes(settings):
            log.info("%s", note)
        ex = extract_hour(wh, source, settings, run.hour, run.models, with_history=False)
        write_parquet(ex.rows, staged.hour_rows)
        record_retirements(wh, ex.retired)
        current = decide_hour(wh, source, settings, ex.expected, run.hour)  # baselines in effect
        staged.baselines.write_text(baselines.to_json(current))
        labels = source.companion(wh)  # the labels overrides match on
        changes = stage_detection_changes(labels, settings, ex.expected, staged.overrides)
        per = ModelDetection(settings.detection, changes, run.detectors)
        uncached = set(per.not_cached(ex.expected, run.day))
        unfitted = [m for m in ex.expected if m in current or m in uncached]
        if unfitted:  # sorted by model, in small row groups: each shard reads only its own
            n_history, n_out = write_training_history(
                wh,
                source,
                settings,
                unfitted,
                run.day,
                staged.history,
                row_group_size=HISTORY_ROW_GROUP,
                until=run.hour,
                baselines=baselines.since_and_decided(current),
            )
        else:
            write_parquet(ex.history, staged.history)  # no rows, typed columns
            n_history = n_out = 0
    log.info(
        "extracted %d rows for %s (%d expected models), %d history rows (%d excluded)",
        len(ex.rows),
        run.hour,
        len(ex.expected),
        n_history,
        n_out,
    )
    return {"rows": len(ex.rows), "expected": ex.expected, "history_rows": n_history}


def logs(run: Run, inputs: Inputs) -> dict[str, Any]:
    """Count the hour's log lines per model and signature, once: an hour mined before is read
    back, never mined again. An enrichment: a failure costs the hour its log hints (the hour
    stays unmined, for a later run), never its alerts."""
    if run.settings.logs.source == "none":
        return {"hour": run.hour.isoformat(), "skipped": "logs.source is none"}
    lookback = timedelta(days=run.settings.detection.history_days)
    with (
        open_warehouse(run.warehouse, migrate=True) as wh,
        open_source(run.source, run.settings, wh) as source,
    ):
        known = known_models(source, run.hour, lookback)
        lines = source.companion(wh) if run.settings.logs.source == "sql" else wh
        return mine_hour(wh, run.settings, run.hour, known, run.run_id, lines)


def validate(run: Run, inputs: Inputs) -> list[list[str]]:
    """Gate the hour: write each model's verdict, stage the clean rows and the models kept
    out, and return the shards of models that go on to detection."""
    staged, settings = run.staging, run.settings
    rows = read_parquet(staged.hour_rows)
    report = validate_hour(rows, run.hour, inputs["extract"]["expected"], settings.validation)
    verdicts = report.verdicts
    if not run.full:  # a partial rerun owns only its models' verdicts
        verdicts = verdicts[verdicts["model_id"] != schema.FLEET]
    replace_hour_rows(run, "mw_validation", verdicts)
    write_parquet(report.clean, staged.clean)
    passed = sorted(report.passed)
    shards = split_models(passed, settings.shard_size, settings.shard_max_models)
    excluded = {m: "quarantined" for m in report.quarantined} | {
        m: "no_data" for m in report.no_data
    }
    log.info(
        "validated %s: %d passed, %d quarantined, %d without data",
        run.hour,
        len(passed),
        len(report.quarantined),
        len(report.no_data),
    )
    staged.excluded.write_text(json.dumps(excluded, sort_keys=True))
    return shards


def detect(run: Run, inputs: Inputs) -> dict[str, Any]:
    """Score one shard of models from the staged files (shards run in parallel, and an
    embedded warehouse takes one writer at a time, so they read the warehouse only in the
    rare case below)."""
    shard, staged, settings = list(inputs["shard"]), run.staging, run.settings
    rows = read_parquet_of(staged.clean, schema.MODEL_ID, shard)
    history = read_parquet_of(staged.history, schema.MODEL_ID, shard)
    changes = read_detection_changes(staged.overrides)
    per = ModelDetection(settings.detection, changes, run.detectors)
    current = baselines.from_json(staged.baselines.read_text())
    # A detector cached when extract ran may be gone now (pruned by a run of a later day):
    # read those models' history rather than score them without a detector.
    have = set(history[schema.MODEL_ID].unique())
    missing = per.not_cached([m for m in shard if m not in have], run.day)
    if missing:
        log.warning("reading history for %d models whose detector is gone", len(missing))
        with (
            open_warehouse(run.warehouse) as wh,
            open_source(run.source, settings, wh) as source,
        ):
            own = {m: current[m] for m in missing if m in current}
            extra, _ = read_training_history(wh, source, settings, missing, run.day, run.hour, own)
        history = pd.concat([history, extra], ignore_index=True) if len(history) else extra
    scores = detect_models(
        rows,
        history,
        shard,
        run.hour,
        settings.detection,
        store_dir=run.detectors,
        baselines={m: since for m, (since, _) in current.items()},
        changes=changes,
    )
    index = int(inputs["index"])  # persist finds the shard's file by it (`Staging.scores`)
    write_parquet(scores, staged.scores(index))
    return {"index": index, "models": len(shard), "anomalous": int(scores["is_anomaly"].sum())}


def drift(run: Run, inputs: Inputs) -> dict[str, Any]:
    """Test the hour's predictions of the models the gate let through against their
    reference (beside detect), replacing the hour's findings. An enrichment."""
    shards = inputs.get("validate")
    models = run.models if shards is None else sorted(m for shard in shards for m in shard)
    with (
        open_warehouse(run.warehouse) as wh,
        open_source(run.source, run.settings, wh) as source,
    ):
        preds = source.companion(wh)  # the predictions table: beside the metrics
        return write_drift_hour(wh, run.settings.drift, run.hour, models, run.full, preds)


def persist(run: Run, inputs: Inputs) -> dict[str, Any]:
    """Write all shards' scores, and a row for each model kept out of detection, in one go."""
    excluded: dict[str, str] = json.loads(run.staging.excluded.read_text())
    kept_out = pd.DataFrame(
        [excluded_verdict(m, run.hour, status, 0) for m, status in sorted(excluded.items())],
        columns=SCORE_COLUMNS,
    )
    shard_results = inputs.get("detect") or []
    shards = (read_parquet(run.staging.scores(int(r["index"]))) for r in shard_results)
    parts = [f for f in (*shards, kept_out) if len(f)]
    scores = pd.concat(parts, ignore_index=True) if parts else kept_out
    scores["hour"] = pd.to_datetime(scores["hour"]).astype("datetime64[us]")
    replace_hour_rows(run, "mw_scores", scores)
    anomalous = sorted(scores.loc[scores["is_anomaly"].astype(bool), "model_id"].tolist())
    return {
        "scored": int((scores["status"] == STATUS_SCORED).sum()),
        "anomalous": anomalous,
        "excluded": excluded,
    }


def route(run: Run, inputs: Inputs) -> list[str]:
    """Which branches have work: alerting (new trouble incl. drifted predictions, or open
    alerts that may resolve, or notifications still owed), remediation (anomalies to act on,
    requests to send or retry, a scaled-up model that may scale back down), or nothing."""
    persisted, drifted = inputs["persist"], inputs.get(DRIFT) or {}
    with open_warehouse(run.warehouse) as wh:
        models = scope_models(wh, run)
        alerting = open_or_owed(wh, run)
        pending = outbox.pending_work(wh, run, models)
    branches = []
    trouble = persisted["anomalous"] or persisted["excluded"] or drifted.get("drifted")
    if trouble or alerting:
        branches.append(ALERT)
    if persisted["anomalous"] or pending:
        branches.append(REMEDIATE)
    return branches or [ALL_CLEAR]


def alert(run: Run, inputs: Inputs) -> dict[str, Any]:
    """Rebuild the alert episodes of this run's models and deliver this hour's events (and
    earlier ones still owed): see `modelwatch.alerting.step`."""
    return alert_hour(run, enrichment_failures(inputs))


def remediate(run: Run, inputs: Inputs) -> dict[str, Any]:
    """Propose actions for this hour's models and pass them through the guardrails into the
    outbox; the result says what waits for an operator (the DAG's approval task shows it)."""
    with (
        open_warehouse(run.warehouse) as wh,
        open_source(run.source, run.settings, wh) as source,
    ):
        models = scope_models(wh, run)
        return outbox.remediate_hour(run, wh, source, models)


def needs_approval(run: Run, inputs: Inputs) -> list[str]:
    """Branch after remediate: the operator's approval only when something waits for it."""
    return [APPROVE] if (inputs.get(REMEDIATE) or {}).get("approval") else [DISPATCH]


def record_approval(run: Run, inputs: Inputs) -> dict[str, Any]:
    """Apply the approval task's answer (none if it failed) to the requests it showed."""
    return approval.record(run, inputs.get(REMEDIATE), inputs.get(APPROVE))


def dispatch(
    run: Run, inputs: Inputs, connection: Callable[[str], Any] | None = None
) -> dict[str, Any]:
    """Send approved requests (and retry failed ones) to their targets; `connection` reads an
    Airflow connection by id (the environment's `AIRFLOW_CONN_*` outside Airflow)."""
    built: dict[str, Any] = {}

    def target(name: str) -> Any:
        if name not in built:
            get = connection or target_connection
            built[name] = build_target(name, run.settings.remediation, get)
        return built[name]

    with open_warehouse(run.warehouse) as wh:
        models = scope_models(wh, run)
        return outbox.dispatch_due(run, wh, models, target)


def all_clear(run: Run, inputs: Inputs) -> None:
    """Nothing anomalous and no open alerts: nothing to do."""


def summary(run: Run, inputs: Inputs) -> dict[str, Any]:
    """The hour's figures into `mw_runs` (and why an enrichment failed), its HTML report, the
    run's clean-up."""
    failures = enrichment_failures(inputs)
    hints = (inputs.get(ALERT) or {}).get("hints_failure")
    if hints:
        failures["hints"] = hints
    return record_hour(run, failures)


def replace_hour_rows(run: Run, table: str, frame: pd.DataFrame) -> None:
    """Write the hour's rows of the models in `frame`, replacing what a run of the hour wrote
    for them before (a partial rerun owns only its models' rows)."""
    with open_warehouse(run.warehouse) as wh:
        models = frame["model_id"].tolist()
        wh.replace(
            table,
            frame,
            "hour = :hour AND model_id IN :models",
            {"hour": run.hour, "models": models},
        )


def enrichment_failures(inputs: Inputs) -> dict[str, str]:
    """Enrichment -> why it failed, for the enrichments among `inputs` that did: one line of at
    most 200 characters, secrets masked and control characters dropped (it is shown to
    on-call and stored)."""
    return {
        name: one_line(str(out["failed"]))
        for name, out in inputs.items()
        if isinstance(out, dict) and out.get("failed")
    }


IMPLEMENTATIONS: dict[str, Callable[[Run, Inputs], Any]] = {
    "resolve": resolve,
    "landed": landed,
    "extract": extract,
    "logs": logs,
    "validate": validate,
    "detect": detect,
    DRIFT: drift,
    "persist": persist,
    "route": route,
    ALERT: alert,
    REMEDIATE: remediate,
    "needs_approval": needs_approval,
    "record_approval": record_approval,
    DISPATCH: dispatch,
    ALL_CLEAR: all_clear,
    "summary": summary,
}
