"""The `replay` and `evaluate` subcommands of `modelwatch` (registered by `modelwatch.cli.main`).

    modelwatch replay --metrics IN --out OUT [--jobs 2]
    modelwatch replay --warehouse URI --from 2026-10-25T00:00Z --to 2026-11-02T00:00Z --out OUT
    modelwatch evaluate --scores OUT --incidents FILE [--report report.md] [--json]
    modelwatch evaluate --scores OUT --warehouse URI [--report report.md] [--json]
    modelwatch evaluate --hints [--warehouse URI] [--json]
    modelwatch evaluate --shadow NAME [--compare production] [--html report.html] [--json]

The top-level `--config FILE` supplies the detection settings for replay. `evaluate` only
reads: it never creates a warehouse.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from modelwatch.cli.common import (
    add_json_arg,
    print_json,
    records,
    settings_of,
    source_from_args,
    spec_from_args,
)
from modelwatch.cli.ranges import (
    add_no_progress,
    add_range,
    deprecated_flag,
    show_progress,
    time_range,
)
from modelwatch.cli.whatif import add_judge_args


def input_file(path: str) -> str:
    """An input file that must exist: one line naming it, not a reader's traceback."""
    if not Path(path).is_file():
        raise FileNotFoundError(2, "no such input file", path)
    return path


def cmd_replay(args: argparse.Namespace) -> int:
    """Score every input row causally with the DAG's detector; write one row per input row."""
    from modelwatch.evaluation.replay import normalise_input, read_table, replay, write_table
    from modelwatch.pipeline.replay import replay_frame, replay_warehouse
    from modelwatch.run import parse_hour

    settings = settings_of(args)
    if bool(args.metrics) == bool(args.warehouse):
        raise ValueError("give exactly one of --metrics FILE or --warehouse CONN")
    window = time_range(args, parse_hour)
    if args.warehouse and not window:
        raise ValueError("--warehouse needs --from and --to")
    t0 = time.perf_counter()
    if args.metrics:
        frame, metrics = normalise_input(read_table(input_file(args.metrics)))
        if metrics is None:  # our serving schema: the hourly pipeline itself
            lacking = [m for m in settings.detection.metric_names if m not in frame.columns]
            if lacking:  # a metric the config declares (source.extra_metrics)
                raise ValueError(f"replay input lacks declared metric(s) {', '.join(lacking)}")
            out = replay_frame(frame, settings, window[0] if window else None).rows
        else:
            out = replay(frame, settings.detection, args.jobs, progress=show_progress(args))
    else:  # the DAG's own path: validation, day detectors, hour scores
        source = source_from_args(args, read_only=True)
        out = replay_warehouse(source, *window, args.model, settings).rows
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
    scores = read_table(input_file(args.scores))
    if args.warehouse:
        incidents = load_incidents(source_from_args(args, read_only=True), warehouse=True)
    else:
        incidents = load_incidents(input_file(args.incidents))
    ev = evaluate(scores, incidents, pd.Timedelta(minutes=args.grace_minutes), args.profile)
    report = write_incident_report(ev, scores, args.report) if args.report else None
    if args.json:
        print_json(
            {
                "summary": ev.summary,
                "per_incident": records(ev.incidents),
                "per_model": records(ev.models),
                "report": report,
            }
        )
        return 0
    print(format_summary(ev))
    if report:
        print(f"report: {report}")
    return 0


def cmd_evaluate_hints(args: argparse.Namespace) -> int:
    """Top-1/top-3 of the stored hints against the incidents' labelled causes."""
    from modelwatch.evaluation.hints import evaluate_hints, format_score
    from modelwatch.warehouse import open_warehouse

    with open_warehouse(spec_from_args(args, read_only=True)) as wh:
        score = evaluate_hints(wh)
    if args.json:
        print_json(
            {
                "top1": score.top1,
                "top3": score.top3,
                "incidents": score.n,
                "per_incident": records(score.per_incident),
                "outside": records(score.outside),
            }
        )
        return 0
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
    add_range(sp, "hour (with --warehouse)", "2026-10-18T00:00Z", "required with --warehouse")
    deprecated_flag(sp, "--start", "start", "use --from")
    deprecated_flag(sp, "--end", "end", "use --to")
    sp.add_argument("--model", action="append", help="with --warehouse: only this model")
    sp.add_argument("--out", required=True, help="output .parquet/.csv")
    sp.add_argument("--jobs", type=int, default=2, help="parallel processes (default 2)")
    add_no_progress(sp)
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
    add_json_arg(sp)
    sp.set_defaults(func=cmd_evaluate)
