"""The troubleshooting story of a simulated fleet: logs, change events, labels and causes.

Opt-in (`tell_story`; the demo turns it on): a fleet simulated without it keeps exactly its
rows. Everything here draws from its own seed streams, never the metrics' ones. Each incident
kind leaves the traces a real one would:

- latency_regression (a bad deploy): a declared deploy just before, a new slow-path warning;
- error_burst: a new exception signature (its version change is in the metrics already);
- memory_leak: GC pauses growing with the heap, then OOM kills;
- prediction_drift: a feature-pipeline change on the model's feature dependency;
- silent_outage: an infra change on its node pool, and silence in the logs;
- bad_data: a config change of its metrics exporter, and odd exporter warnings;
- traffic_surge: more request lines, no new error (no labelled cause);
- upstream_outage (added here, on healthy models): timeouts to one dependency in every model
  behind it, their latency and errors up.

Decoys: a deploy of a healthy model of the same team at the same time, harmless new log lines
on healthy models, and dependencies shared with healthy models. Each labelled incident gets a
cause: `change` (a change_id), `dependency` (a name) or `log` (text its signature contains).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from modelwatch.sim.fleet import Fleet, FleetSpec
from modelwatch.sim.loglines import FLAGS, Burst, model_lines

#: Seed-stream purposes of the story (the fleet uses 1..3).
LABELS_STREAM, LOGS_STREAM, CHANGES_STREAM = 101, 102, 103
DEPENDENCIES = ("feature-store-eu", "feature-store-us", "redis-sessions", "embeddings-svc")
UPSTREAM_OUTAGE = "upstream_outage"
CAUSE_COLUMNS = ["model_id", "kind", "start", "cause_kind", "cause_ref"]
CHANGE_COLUMNS = ["change_id", "ts", "model_id", "selector", "kind", "detail", "actor"]


@dataclass(frozen=True)
class StorySpec:
    """What to tell: log volume and days, the added upstream outage, the decoys."""

    lines_per_hour: float = 40.0
    log_days: int = 8  # the incident day and the baseline before it
    upstream_outage: bool = True
    outage_dependency: str = "feature-store-eu"
    outage_models: int = 3
    outage_hours: tuple[int, int] = (10, 13)
    decoys: bool = True


@dataclass
class Story:
    logs: pd.DataFrame
    changes: pd.DataFrame
    labels: pd.DataFrame
    causes: pd.DataFrame
    incidents: pd.DataFrame  # incidents added by the story (upstream outage)


def _rng(seed: int, purpose: int, i: int = 0) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(purpose, i)))


def _labels(
    fleet: Fleet, seed: int, outage: list[str], dep: str
) -> dict[str, dict[str, list[str]]]:
    g = _rng(seed, LABELS_STREAM)
    out: dict[str, dict[str, list[str]]] = {}
    for r in fleet.models.itertuples(index=False):
        m = str(r.model_id)
        other = str(DEPENDENCIES[int(g.integers(0, len(DEPENDENCIES)))])
        ups = [f"features-{r.team}", dep if m in outage else other]
        out[m] = {
            "team": [str(r.team)],
            "cluster": [("eu-1", "us-1")[int(g.integers(0, 2))]],
            "node_pool": [f"np-{int(g.integers(1, 5))}"],
            "upstream": sorted(set(ups)),
        }
    return out


def _outage_models(fleet: Fleet, spec: StorySpec) -> list[str]:
    """Healthy models to hit, leaving at least two healthy ones behind the same dependency."""
    if not spec.upstream_outage:
        return []
    sick = set(fleet.incidents["model_id"].astype(str))
    healthy = [m for m in fleet.models["model_id"].astype(str) if m not in sick]
    n = min(spec.outage_models, len(healthy) - 2)
    return healthy[-n:] if n >= 2 else []


def _apply_outage(fleet: Fleet, models: list[str], start: datetime, end: datetime) -> None:
    """Latency x3 and 4-6 % errors for the outage's models (the metrics of an opt-in story)."""
    m = fleet.metrics
    rows = m["model_id"].isin(models).to_numpy() & (m["ts"] >= start).to_numpy()
    rows &= (m["ts"] < end).to_numpy()
    for col in ("latency_p50_ms", "latency_p95_ms", "latency_p99_ms"):
        m.loc[rows, col] = m.loc[rows, col].to_numpy() * 3.0
    g = _rng(0, LOGS_STREAM, 99999)
    m.loc[rows, "error_rate"] = g.uniform(0.04, 0.06, size=int(rows.sum()))


def tell_story(
    fleet: Fleet, fspec: FleetSpec | None = None, spec: StorySpec | None = None
) -> Story:
    """The story of `fleet` (simulated from `fspec`). Adds the upstream outage's effect to
    `fleet.metrics` in place when `spec.upstream_outage` is set."""
    fspec, spec = fspec or FleetSpec(), spec or StorySpec()
    seed = fspec.seed
    day = fspec.end - timedelta(days=1)
    log_start = fspec.end - timedelta(days=min(spec.log_days, fspec.days))
    dep = spec.outage_dependency
    hit = _outage_models(fleet, spec)
    labels = _labels(fleet, seed, hit, dep)
    teams = {m: lab["team"][0] for m, lab in labels.items()}
    incidents = fleet.incidents.copy()
    extra = pd.DataFrame(columns=list(fleet.incidents.columns))
    if hit:
        o0 = day + timedelta(hours=spec.outage_hours[0])
        o1 = day + timedelta(hours=spec.outage_hours[1])
        _apply_outage(fleet, hit, o0, o1)
        extra = pd.DataFrame(
            {
                "model_id": hit,
                "kind": UPSTREAM_OUTAGE,
                "start": o0,
                "end": o1,
                "detail": f"{dep} times out: latency x3, errors ~5%",
            }
        )
        incidents = pd.concat([incidents, extra], ignore_index=True)
    sick = set(incidents["model_id"].astype(str))
    healthy = [m for m in labels if m not in sick]

    bursts: dict[str, list[Burst]] = {m: [] for m in labels}
    volume: dict[str, dict[int, float]] = {m: {} for m in labels}
    silent: dict[str, list[tuple[datetime, datetime]]] = {m: [] for m in labels}
    changes: list[dict[str, object]] = []
    causes: list[dict[str, object]] = []
    g = _rng(seed, CHANGES_STREAM)

    def change(ts: datetime, kind: str, detail: str, actor: str, model=None, selector=None) -> str:
        cid = f"CHG-{ts:%m%d}-{len(changes) + 1:03d}"
        changes.append(
            {
                "change_id": cid,
                "ts": ts,
                "model_id": model,
                "selector": selector,
                "kind": kind,
                "detail": detail,
                "actor": actor,
            }
        )
        return cid

    for inc in incidents.sort_values(["start", "model_id"]).itertuples(index=False):
        m, kind = str(inc.model_id), str(inc.kind)
        s, e = pd.Timestamp(inc.start).to_pydatetime(), pd.Timestamp(inc.end).to_pydatetime()
        cause: tuple[str, str] | None = None
        if kind == "latency_regression":
            cid = change(
                s - timedelta(minutes=7),
                "deploy",
                f"{m}: new model image rolled out",
                "ci-bot",
                model=m,
            )
            bursts[m].append(Burst(s, e, "WARN", "runtime", "slow_path", 15.0))
            cause = ("change", cid)
        elif kind == "error_burst":
            bursts[m].append(Burst(s, e, "ERROR", "serving", "bad_category", 150.0))
            cause = ("log", "unexpected category")
        elif kind == "memory_leak":
            bursts[m].append(Burst(s, e, "WARN", "runtime", "gc", 60.0, rate0=2.0))
            bursts[m].append(Burst(e - timedelta(hours=2), e, "ERROR", "kubelet", "oom", 2.0))
            cause = ("log", "GC pause")
        elif kind == "prediction_drift":
            up = f"upstream=features-{teams[m]}"
            cid = change(
                s - timedelta(minutes=40),
                "feature_pipeline",
                f"features-{teams[m]} backfill: schema v12 -> v13",
                "airflow:features_daily",
                selector=up,
            )
            cause = ("change", cid)
        elif kind == "silent_outage":
            pool = labels[m]["node_pool"][0]
            cid = change(
                s - timedelta(minutes=10),
                "infra",
                f"node pool {pool} upgrade: nodes drained and replaced",
                "gke-autoupgrade",
                selector=f"node_pool={pool}",
            )
            silent[m].append((s, e))
            cause = ("change", cid)
        elif kind == "bad_data":
            cid = change(
                s - timedelta(minutes=12),
                "config",
                f"{m}: metrics exporter v2 rolled out",
                "platform-bot",
                model=m,
            )
            bursts[m].append(Burst(s, e, "WARN", "exporter", "negative_latency", 8.0))
            cause = ("change", cid)
        elif kind == "traffic_surge":
            for h in range(
                int((s - log_start) / timedelta(hours=1)), int((e - log_start) / timedelta(hours=1))
            ):
                volume[m][h] = 2.5
        elif kind == UPSTREAM_OUTAGE:
            bursts[m].append(Burst(s, e, "ERROR", "client", "timeout", 80.0, arg=dep))
            cause = ("dependency", dep)
        if cause is not None:
            causes.append(
                {
                    "model_id": m,
                    "kind": kind,
                    "start": s,
                    "cause_kind": cause[0],
                    "cause_ref": cause[1],
                }
            )
        if spec.decoys:
            mates = [h for h in healthy if teams[h] == teams[m]]
            if mates:
                mate = mates[int(g.integers(0, len(mates)))]
                change(
                    s - timedelta(minutes=20),
                    "deploy",
                    f"{mate}: routine image rollout",
                    "ci-bot",
                    model=mate,
                )
            if kind in ("error_burst", UPSTREAM_OUTAGE) and healthy:
                picks = g.choice(len(healthy), size=min(3, len(healthy)), replace=False)
                flag = FLAGS[int(g.integers(0, len(FLAGS)))]
                for k in sorted(picks):
                    bursts[healthy[k]].append(
                        Burst(s, day + timedelta(days=1), "INFO", "flags", "flag", 5.0, arg=flag)
                    )

    hours = int((fspec.end - log_start) / timedelta(hours=1))
    rows = []
    for i, m in enumerate(labels):
        for d in range((fspec.end - log_start).days):
            midnight = log_start + timedelta(days=d)
            bursts[m].append(
                Burst(
                    midnight,
                    midnight + timedelta(minutes=5),
                    "INFO",
                    "loader",
                    "loaded",
                    12.0,
                    arg=m,
                )
            )
        lines = model_lines(
            _rng(seed, LOGS_STREAM, i),
            m,
            log_start,
            hours,
            spec.lines_per_hour,
            labels[m]["upstream"],
            bursts[m],
            volume[m],
            silent[m],
        )
        rows.extend((ts, m, lvl, msg, logger) for ts, lvl, logger, msg in lines)
    logs = pd.DataFrame(rows, columns=["ts", "model_id", "level", "message", "logger"])
    logs["trace_id"] = None
    logs["ts"] = logs["ts"].astype("datetime64[us]")
    label_rows = [
        {"model_id": m, "label": k, "value": v}
        for m, lab in labels.items()
        for k, vs in lab.items()
        for v in vs
    ]
    ch = pd.DataFrame(changes, columns=CHANGE_COLUMNS)
    ch["ts"] = ch["ts"].astype("datetime64[us]")
    cz = pd.DataFrame(causes, columns=CAUSE_COLUMNS)
    cz["start"] = cz["start"].astype("datetime64[us]")
    return Story(
        logs.sort_values(["ts", "model_id"], kind="stable").reset_index(drop=True),
        ch,
        pd.DataFrame(label_rows),
        cz,
        extra,
    )
