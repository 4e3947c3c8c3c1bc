"""Replay history through the detector, causally, as if it had run hour by hour.

Why: to study and benchmark detection (NAB, simulated incidents, backfills of the warehouse)
with the very functions the DAG uses, not a second implementation.

Two paths, chosen by the input:

* **Our serving schema** (all of `schema.METRIC_NAMES`; `--warehouse` or a file): the DAG's
  path. Each day's detector is `hourly.day_detector` on the `history_days` before the day,
  minus the hours the replay (and, from the warehouse, the DAG) quarantined or judged
  anomalous; each hour is `hourly.detect_models` on its rows. From the warehouse the hours are
  also validated (`ingest.validate.validate_hour`) and the training history is the DAG's own
  (`ingest.extract.read_training_history`), so the replay's scores are the DAG's verdicts
  (tests/integration/test_replay_matches_dag.py). Every row of an hour carries the hour's
  score; the detection is on the hour's last row, when the DAG would know it.
* **Anything else** (e.g. NAB's single `value`): the per-row stream of `detection.stream`,
  which shares the forest (`forest.fit_forest`) and the calibration
  (`detector.empirical_log_tail`) and can fire within the hour.

Rows that are not scored (cold start, too little history, quarantined) get score 0 and an
empty explanation: no opinion.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from modelwatch import schema
from modelwatch.config import DetectionConfig, Settings
from modelwatch.detection.detector import metric_columns, robust_center_scale, schema_columns
from modelwatch.detection.explain import explanation_json_rows
from modelwatch.detection.forest import model_seed
from modelwatch.detection.hourly import detect_models
from modelwatch.detection.stream import stream_series
from modelwatch.evaluation.newnormal import ReplayBaselines, frame_deploys
from modelwatch.timestamps import naive_utc_columns

OUTPUT_COLUMNS = ["model_id", "ts", "score", "is_anomaly", "explanation"]
HOUR = timedelta(hours=1)


# ------------------------------------------------------------------------- generic series
def explain_rows(names: list[str], train: np.ndarray, rows: np.ndarray, top_k: int) -> list[str]:
    """Per row: the top metrics by robust z against the training rows, as JSON."""
    center, scale = robust_center_scale(train)
    with np.errstate(over="ignore", invalid="ignore"):  # 1e300 against a tiny scale: inf
        z = (rows - center) / scale
    order = np.argsort(-np.abs(np.nan_to_num(z)), axis=1)[:, :top_k]
    return explanation_json_rows(names, order, rows, center, z)


def replay_series(
    series: pd.DataFrame, cfg: DetectionConfig, model_id: str, metrics: list[str]
) -> pd.DataFrame:
    """Replay one model's rows (sorted by ts) through the per-row stream; returns score,
    is_anomaly, explanation aligned with `series`."""
    values = series[metrics].to_numpy(dtype=float)
    score, fired, segments = stream_series(
        values, series[schema.TS].to_numpy(), cfg, model_seed(model_id, cfg.seed)
    )
    explanation = ["[]"] * len(series)
    for seg, train in segments:
        rows = values[seg.start : seg.stop]
        explanation[seg.start : seg.stop] = explain_rows(metrics, train, rows, cfg.top_k)
    return pd.DataFrame(
        {"score": score, "is_anomaly": fired, "explanation": explanation}, index=series.index
    )


def _replay_one(
    model_id: str, series: pd.DataFrame, cfg: DetectionConfig, metrics: list[str]
) -> pd.DataFrame:
    """Sort one model's rows by time (stably: repeated timestamps keep input order), replay."""
    ordered = series.sort_values(schema.TS, kind="mergesort")
    return replay_series(ordered, cfg, model_id, metrics)


# ------------------------------------------------------------------- the DAG's hourly path
#: Per hour: (the rows to score, the models to score, {model: status} of those kept out).
HourInput = tuple[pd.DataFrame, list[str], dict[str, str]]
#: model -> (since, decided hour) of a moved baseline (`read_training_history`'s `moved`).
Spans = dict[str, tuple[datetime, datetime]]
#: (day, until, spans) -> the training rows of the day's detectors, as the DAG reads them.
HistoryFor = Callable[[datetime, datetime, Spans], pd.DataFrame]


def replay_hours(
    hours: Iterable[datetime],
    hour_input: Callable[[datetime], HourInput],
    history_for: HistoryFor,
    cfg: DetectionConfig,
    baselines: ReplayBaselines | None = None,
) -> pd.DataFrame:
    """The DAG's verdicts (`mw_scores` rows) for each hour, in order.

    `history_for(day, until, spans)` gives the rows before `until` that the day's detectors
    (and a warming-up model's hourly ones) train on, minus the hours the DAG recorded as
    excluded, the change hours of a moved baseline kept; it is read at the day's first hour
    and again when a baseline moves, and the replayed hours' own rows are added as they pass.
    The hours this replay quarantined or judged anomalous are dropped on top (as the DAG's
    later hours do), then `detect_models` scores the hour with a per-replay detector store,
    so each model-day is fitted once, as in the DAG. `baselines` decides the new-normal moves
    from the replay's own verdicts, as the DAG's extract step does from its stored ones.
    """
    from modelwatch.detection.hourly import excluded_verdict
    from modelwatch.ingest.extract import drop_excluded

    excluded: list[tuple[str, datetime]] = []
    verdicts: list[pd.DataFrame] = []
    base, today, key = pd.DataFrame(), [], None
    with tempfile.TemporaryDirectory(prefix="mw-replay-") as store_dir:
        for hour in hours:
            day = hour.replace(hour=0, minute=0, second=0, microsecond=0)
            moved = baselines(hour, verdicts[-1] if verdicts else None) if baselines else {}
            spans = {m: (b.since, b.decided_hour) for m, b in moved.items()}
            if key != (day, spans):  # the DAG reads history again for a moved model
                base, today, key = history_for(day, hour, spans), [], (day, spans)
            own = pd.DataFrame(
                [(m, h) for m, h in excluded if not _in_span(spans.get(m), h)],
                columns=["model_id", "hour"],
            )
            history, _ = drop_excluded(_concat([base, *today]), own)
            rows, models, kept_out = hour_input(hour)
            scores = detect_models(
                rows,
                history,
                models,
                hour,
                cfg,
                store_dir=store_dir,
                baselines={m: b.since for m, b in moved.items()},
            )
            out = [excluded_verdict(m, hour, st, 0) for m, st in sorted(kept_out.items())]
            if out:
                scores = pd.concat([scores, pd.DataFrame(out, columns=scores.columns)])
            excluded += [(m, hour) for m in kept_out]
            excluded += [(m, hour) for m in scores.loc[scores["is_anomaly"], "model_id"]]
            verdicts.append(scores)
            today.append(rows)
    return pd.concat(verdicts, ignore_index=True) if verdicts else pd.DataFrame()


def _in_span(span: tuple[datetime, datetime] | None, hour: datetime) -> bool:
    return span is not None and span[0] <= hour < span[1]


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The frames' rows together; the first frame (typed, maybe empty) when none has rows."""
    full = [f for f in frames if len(f)]
    if len(full) <= 1:
        return full[0] if full else frames[0]
    return pd.concat(full, ignore_index=True)


def verdicts_to_rows(frame: pd.DataFrame, verdicts: pd.DataFrame) -> pd.DataFrame:
    """Spread hourly verdicts over their rows: each row gets its hour's score and explanation,
    the hour's last row its detection; rows of hours not scored get 0 and "[]"."""
    hour = frame[schema.TS].dt.floor("h")
    scored = verdicts[verdicts["status"] == "scored"].set_index(["model_id", "hour"])
    key = pd.MultiIndex.from_arrays([frame[schema.MODEL_ID].astype(str), hour])
    score = scored["score"].astype(float).reindex(key).to_numpy()
    flag = scored["is_anomaly"].astype(bool).reindex(key).fillna(False).to_numpy(dtype=bool)
    why = scored["explanation"].reindex(key).fillna("[]").to_numpy()
    order = frame.assign(_h=hour).sort_values(schema.TS, kind="mergesort")
    last = ~order.duplicated([schema.MODEL_ID, "_h"], keep="last")
    is_last = last.reindex(frame.index).to_numpy(dtype=bool)
    out = frame[[schema.MODEL_ID, schema.TS]].copy()
    out["score"] = np.nan_to_num(score, nan=0.0)
    out["is_anomaly"] = flag & is_last
    out["explanation"] = why
    return out[OUTPUT_COLUMNS]


def replay_schema_frame(frame: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """Our serving schema from a file: the DAG's hourly path, with every row scored (a file
    has no validation verdicts; bad rows are still kept out of training)."""
    hours = pd.date_range(
        frame[schema.TS].min().floor("h"), frame[schema.TS].max().floor("h"), freq="h"
    )
    by_hour = dict(tuple(frame.groupby(frame[schema.TS].dt.floor("h"))))
    lookback = timedelta(days=settings.detection.history_days)

    def hour_input(hour: datetime) -> HourInput:
        rows = by_hour.get(pd.Timestamp(hour), frame.iloc[0:0])
        return rows, sorted(rows[schema.MODEL_ID].astype(str).unique()), {}

    def history_for(day: datetime, until: datetime, spans: Spans) -> pd.DataFrame:
        ts = frame[schema.TS]
        return frame[(ts >= day - lookback) & (ts < until)]

    moves = ReplayBaselines(settings, frame_deploys(frame))
    hourly = (h.to_pydatetime() for h in hours)
    verdicts = replay_hours(hourly, hour_input, history_for, settings.detection, moves)
    return verdicts_to_rows(frame, verdicts)


def replay_warehouse(
    conn: str,
    start: datetime,
    end: datetime,
    models: list[str] | None = None,
    settings: Settings | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Replay the hours [start, end) of the warehouse as the hourly DAG scores them: the same
    validation, training history (with the DAG's recorded exclusions), day detectors and hour
    scores. Returns (one row per metric row, the `mw_scores` rows)."""
    from modelwatch.detection.baselines import operator_moves, version_changes
    from modelwatch.ingest.extract import known_models, read_metrics, read_training_history
    from modelwatch.ingest.presence import in_service
    from modelwatch.ingest.validate import validate_hour
    from modelwatch.warehouse import open_warehouse, spec_from_uri, warehouse_spec

    settings = settings or Settings()
    spec = spec_from_uri(conn) if "://" in conn else warehouse_spec(conn)
    lookback = timedelta(days=settings.detection.history_days)
    hours = pd.date_range(start, end, freq="h", inclusive="left")
    parts: list[pd.DataFrame] = []
    # Each read opens the warehouse for itself: held for the whole replay, a DuckDB file
    # would keep the hourly DAG's tasks on it waiting until the replay ends.

    def hour_input(hour: datetime) -> HourInput:
        with open_warehouse(spec) as wh:
            expected = sorted(set(models)) if models else in_service(wh, settings, hour)[0]
            rows = read_metrics(wh, settings.source, hour, hour + HOUR, models)
        parts.append(rows)
        report = validate_hour(rows, hour, expected, settings.validation)
        v = report.verdicts[report.verdicts["model_id"] != schema.FLEET]
        kept_out = dict(zip(v["model_id"], v["status"], strict=True))
        passed = sorted(m for m, st in kept_out.items() if st == "passed")
        kept_out = {m: st for m, st in kept_out.items() if st != "passed"}
        return report.clean, passed, kept_out

    def history_for(day: datetime, until: datetime, spans: Spans) -> pd.DataFrame:
        with open_warehouse(spec) as wh:
            ids = models or known_models(wh, settings.source, until, lookback)
            return read_training_history(wh, settings, ids, day, until, spans)[0]

    def deploys(ids, start: datetime, end: datetime) -> dict[str, list[datetime]]:
        with open_warehouse(spec) as wh:
            return version_changes(wh, settings, ids, start, end)

    with open_warehouse(spec) as wh:
        operators = operator_moves(wh, start, end)
    moves = ReplayBaselines(settings, deploys, operators)
    hourly = [h.to_pydatetime() for h in hours]
    verdicts = replay_hours(hourly, hour_input, history_for, settings.detection, moves)
    frame = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame(columns=[schema.MODEL_ID, schema.TS])
    )
    frame = frame.assign(**{schema.TS: pd.to_datetime(frame[schema.TS])})
    return verdicts_to_rows(frame, verdicts), verdicts


# ----------------------------------------------------------------------------------- entry
def normalise_input(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str] | None]:
    """Check the replay input and pick its metrics: our schema's if present (the DAG's
    features), else every numeric column. Aware timestamps are converted to naive UTC."""
    missing = [c for c in (schema.MODEL_ID, schema.TS) if c not in frame.columns]
    if missing:
        raise ValueError(f"replay input lacks column(s) {', '.join(missing)}")
    metrics = metric_columns(frame)
    if not metrics:
        raise ValueError("replay input has no numeric metric column")
    frame = naive_utc_columns(frame, [schema.TS]).reset_index(drop=True)
    return frame, (None if schema_columns(frame) else metrics)


def replay(
    frame: pd.DataFrame,
    cfg: DetectionConfig,
    n_jobs: int = 1,
    progress: bool = False,
    settings: Settings | None = None,
) -> pd.DataFrame:
    """Score every row of `frame` (model_id, ts, metrics...) causally; one output row per
    input row, in input order: model_id, ts, score, is_anomaly, explanation.

    Generic series are independent, so with `n_jobs` > 1 they are replayed in parallel
    processes; our schema goes through the DAG's hourly path (one process).
    """
    frame, metrics = normalise_input(frame)
    if metrics is None:
        lacking = [m for m in cfg.metric_names if m not in frame.columns]
        if lacking:  # a metric the config declares (source.extra_metrics)
            raise ValueError(f"replay input lacks declared metric(s) {', '.join(lacking)}")
        life = settings or Settings()  # new normal: the fleet_life and alert rule settings
        return replay_schema_frame(frame, life.model_copy(update={"detection": cfg}))
    groups = list(frame.groupby(schema.MODEL_ID, sort=False))
    jobs = _progress(groups, progress, len(groups))
    if n_jobs == 1:
        parts = [_replay_one(str(m), g, cfg, metrics) for m, g in jobs]
    else:
        from joblib import Parallel, delayed

        # the longest series first, so the last process does not finish alone
        ordered = sorted(groups, key=lambda g: -len(g[1]))
        parts = Parallel(n_jobs=n_jobs, return_as="generator")(
            delayed(_replay_one)(str(m), g, cfg, metrics) for m, g in ordered
        )
        parts = list(_progress(parts, progress, len(groups)))
    scored = pd.concat(parts).reindex(frame.index) if parts else None
    out = frame[[schema.MODEL_ID, schema.TS]].copy()
    if scored is None:
        return out.assign(score=0.0, is_anomaly=False, explanation="[]")[OUTPUT_COLUMNS]
    out["score"] = scored["score"].to_numpy()
    out["is_anomaly"] = scored["is_anomaly"].to_numpy(dtype=bool)
    out["explanation"] = scored["explanation"].to_numpy()
    return out[OUTPUT_COLUMNS]


def _progress(items: Iterable, on: bool, total: int) -> Iterable:
    """A tqdm bar over models when asked (long replays), else the items as they are."""
    if not on:
        return items
    from tqdm import tqdm

    return tqdm(items, total=total, unit="model", desc="replay")


# --------------------------------------------------------------------------------------- I/O
def read_table(path: str) -> pd.DataFrame:
    """A Parquet or CSV file, by extension."""
    if path.endswith(".parquet"):
        return pd.read_parquet(path)
    if path.endswith(".csv"):
        return pd.read_csv(path)
    raise ValueError(f"{path}: expected a .parquet or .csv file")


def write_table(frame: pd.DataFrame, path: str) -> None:
    """Write Parquet or CSV, by extension."""
    if path.endswith(".parquet"):
        frame.to_parquet(path, index=False)
    elif path.endswith(".csv"):
        frame.to_csv(path, index=False)
    else:
        raise ValueError(f"{path}: expected a .parquet or .csv file")
