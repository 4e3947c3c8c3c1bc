"""The `replay` and `evaluate` subcommands of `modelwatch` (registered by `modelwatch.cli.main`).

    modelwatch replay --metrics IN --out OUT [--jobs 2]
    modelwatch replay --warehouse URI --start 2026-10-25T00:00Z --end 2026-11-02T00:00Z --out OUT
    modelwatch evaluate --scores OUT --incidents FILE [--report report.md]
    modelwatch evaluate --scores OUT --warehouse URI [--report report.md]
    modelwatch evaluate --hints [--warehouse URI]
    modelwatch evaluate --shadow NAME [--compare production] [--html report.html]

The top-level `--config FILE` supplies the detection settings for replay.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from modelwatch.cli.whatif import add_judge_args


def cmd_replay(args: argparse.Namespace) -> int:
    """Score every input row causally with the DAG's detector; write one row per input row."""
    from modelwatch.config import load_settings
    from modelwatch.evaluation.replay import normalise_input, read_table, replay, write_table
    from modelwatch.pipeline.replay import replay_frame, replay_warehouse
    from modelwatch.run import parse_hour

    settings = load_settings(getattr(args, "config", None))
    if bool(args.metrics) == bool(args.warehouse):
        raise ValueError("give exactly one of --metrics FILE or --warehouse CONN")
    if args.warehouse and not (args.start and args.end):
        raise ValueError("--warehouse needs --start and --end")
    t0 = time.perf_counter()
    if args.metrics:
        frame, metrics = normalise_input(read_table(args.metrics))
        if metrics is None:  # our serving schema: the hourly pipeline itself
            lacking = [m for m in settings.detection.metric_names if m not in frame.columns]
            if lacking:  # a metric the config declares (source.extra_metrics)
                raise ValueError(f"replay input lacks declared metric(s) {', '.join(lacking)}")
            out = replay_frame(frame, settings).rows
        else:
            out = replay(frame, settings.detection, args.jobs, progress=not args.quiet)
    else:  # the DAG's own path: validation, day detectors, hour scores
        start, end = parse_hour(args.start), parse_hour(args.end)
        out = replay_warehouse(args.warehouse, start, end, args.model, settings).rows
    write_table(out, args.out)
    secs = time.perf_counter() - t0
    print(
        f"replayed {len(out):,} rows of {out['model_id'].nunique()} series in {secs:.1f} s: "
        f"{int(out['is_anomaly'].sum())} detections -> {args.out}"
    )
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Event-level and NAB-style figures of a replay against labelled windows; with
    `--shadow`/`--production`, a run's alert episodes instead (`modelwatch.cli.whatif`)."""
    if args.shadow or args.production:
        from modelwatch.cli.whatif import cmd_judge

        return cmd_judge(args)
    if args.hints:
        return cmd_evaluate_hints(args)
    if not args.scores:
        raise ValueError("give --scores (a replay), --hints, or --shadow NAME / --production")
    import pandas as pd

    from modelwatch.evaluation.incidents import (
        evaluate,
        format_summary,
        load_incidents,
        write_incident_report,
    )
    from modelwatch.evaluation.replay import read_table

    if bool(args.incidents) == bool(args.warehouse):
        raise ValueError("give exactly one of --incidents FILE or --warehouse CONN")
    scores = read_table(args.scores)
    incidents = load_incidents(args.incidents or args.warehouse, warehouse=bool(args.warehouse))
    ev = evaluate(scores, incidents, pd.Timedelta(minutes=args.grace_minutes), args.profile)
    print(format_summary(ev))
    if args.report:
        print(f"report: {write_incident_report(ev, scores, args.report)}")
    return 0


def cmd_evaluate_hints(args: argparse.Namespace) -> int:
    """Top-1/top-3 of the stored hints against the incidents' labelled causes."""
    from modelwatch.config import load_settings
    from modelwatch.evaluation.hints import evaluate_hints, format_score
    from modelwatch.warehouse import open_warehouse, spec_from_uri, warehouse_spec

    source = args.warehouse or load_settings(getattr(args, "config", None)).warehouse_conn_id
    spec = spec_from_uri(source) if "://" in source else warehouse_spec(source)
    with open_warehouse(spec) as wh:
        score = evaluate_hints(wh)
    print(format_score(score))
    for r in score.per_incident.itertuples(index=False) if args.verbose else ():
        mark = "top1" if r.top1 else "top3" if r.top3 else "miss"
        print(f"  {mark:4}  {r.model_id} {r.kind} ({r.cause}): {r.first_hint}")
    if len(score.outside):
        print(f"hints on {len(score.outside)} alert(s) outside any incident:")
        for r in score.outside.itertuples(index=False):
            print(f"  {r.alert_id}: {r.summary}")
    return 0


def add_commands(subparsers: Any) -> None:
    """Register `replay` and `evaluate` on the `modelwatch` parser's subparsers."""
    sp = subparsers.add_parser("replay", help="score history causally, as the DAG would have")
    sp.add_argument("--metrics", help="input .parquet/.csv: model_id, ts, numeric metrics")
    sp.add_argument("--warehouse", help="read model_metrics from this connection id or URI")
    sp.add_argument("--start", help="with --warehouse: first hour, e.g. 2026-10-18T00:00Z")
    sp.add_argument("--end", help="with --warehouse: end hour (exclusive)")
    sp.add_argument("--model", action="append", help="with --warehouse: only this model")
    sp.add_argument("--out", required=True, help="output .parquet/.csv")
    sp.add_argument("--jobs", type=int, default=2, help="parallel processes (default 2)")
    sp.add_argument("--quiet", action="store_true", help="no progress bar")
    sp.set_defaults(func=cmd_replay)

    sp = subparsers.add_parser("evaluate", help="judge a replay, or a run's alerts, vs incidents")
    sp.add_argument("--scores", help="replay output .parquet/.csv")
    sp.add_argument(
        "--hints",
        action="store_true",
        help="judge the stored hints against labelled causes (warehouse of the usual connection)",
    )
    sp.add_argument("--incidents", help="windows .parquet/.csv: model_id, start, end")
    sp.add_argument("--warehouse", help="read the `incidents` table from this connection/URI")
    sp.add_argument("--grace-minutes", type=int, default=0, help="late detections still count")
    sp.add_argument("--profile", default="standard", help="NAB profile (default standard)")
    sp.add_argument("--report", help="write a Markdown report (plots beside it)")
    add_judge_args(sp)
    sp.set_defaults(func=cmd_evaluate)
