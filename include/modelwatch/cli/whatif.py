"""`modelwatch whatif`: shadow runs over past hours; and `evaluate --shadow/--production`.

    modelwatch whatif --name strict --from 2026-11-01T00:00Z --to 2026-11-02T00:00Z \\
        --config strict.yaml [--models model-000 model-001]
    modelwatch whatif --list [--json]
    modelwatch whatif --drop strict
    modelwatch evaluate --production --compare strict [--html episodes.html]

A shadow writes only into its own schema `whatif_<name>` (see `modelwatch.pipeline.whatif`).
"""

from __future__ import annotations

import argparse
from datetime import timedelta
from typing import Any

from modelwatch.cli.common import (
    add_allow_new_arg,
    add_json_arg,
    add_warehouse_arg,
    print_json,
    records,
    refuse_unknown_models,
    settings_of,
    spec_from_args,
)
from modelwatch.cli.ranges import add_no_progress, add_range, show_progress, time_range
from modelwatch.run import parse_hour

PRODUCTION = "production"


def cmd_whatif(args: argparse.Namespace) -> int:
    from modelwatch.pipeline import whatif

    if args.list:
        shadows = whatif.list_shadows(spec_from_args(args, read_only=True))
        if args.json:
            print_json([shadow_record(s) for s in shadows])
            return 0
        for s in shadows:
            models = ",".join(s.models) if s.models else "all"
            print(
                f"{s.name:20s} {s.start:%Y-%m-%dT%H}..{s.end:%Y-%m-%dT%H}  "
                f"{s.hours_done}/{s.hours_total} h  models {models}  settings {s.digest}"
            )
        if not shadows:
            print("no what-if shadows")
        return 0
    settings = settings_of(args)
    spec = spec_from_args(args)
    if args.drop:
        gone = whatif.drop_shadow(spec, settings, args.drop)
        print(f"dropped {args.drop}" if gone else f"no shadow named {args.drop}")
        return 0 if gone else 1
    window = time_range(args, parse_hour)
    if not (args.name and window):
        raise ValueError("give --name, --from and --to (or --list, or --drop NAME)")
    refuse_unknown_models(spec, settings, args.models or (), args.allow_new)
    got = whatif.run_shadow(
        spec,
        settings,
        args.name,
        *window,
        models=args.models,
        progress=show_progress(args),
    )
    print(
        f"shadow {got['name']} ({got['schema']}): {got['hours_run']} hour(s) run now, "
        f"{got['hours_total']} in its window"
    )
    return 0


def shadow_record(s: Any) -> dict[str, Any]:
    """A shadow as `whatif --list --json` prints it."""
    return {
        "name": s.name,
        "from": s.start,
        "to": s.end,
        "hours_done": s.hours_done,
        "hours_total": s.hours_total,
        "models": list(s.models) if s.models else None,
        "digest": s.digest,
    }


def _open_run(spec: Any, name: str) -> Any:
    from modelwatch.warehouse import open_warehouse
    from modelwatch.warehouse.connect import shadow_schema

    return open_warehouse(spec if name == PRODUCTION else spec.in_schema(shadow_schema(name)))


def cmd_judge(args: argparse.Namespace) -> int:
    """`evaluate --shadow NAME | --production [--compare OTHER]`: alert episodes judged."""
    from modelwatch.evaluation.episodes import compare, hours_span, judge, load_run
    from modelwatch.evaluation.episodes_report import format_text, write_html

    spec = spec_from_args(args, read_only=True)
    names = [PRODUCTION if args.production else args.shadow]
    if args.compare:
        names.append(args.compare)
    spans = []
    for name in names:
        with _open_run(spec, name) as wh:
            span = hours_span(wh)
        if span is None:
            raise ValueError(f"{name} has processed no hour yet")
        spans.append(span)
    window = (max(s[0] for s in spans), min(s[1] for s in spans))
    if window[0] >= window[1]:
        raise ValueError("the runs share no hour: nothing to compare")
    runs = []
    for name in names:
        with _open_run(spec, name) as wh:
            runs.append(load_run(wh, name, window))
    grace = timedelta(hours=args.grace_hours)
    judged = [judge(r, grace) for r in runs]
    diffs = compare(judged[0], judged[1]) if len(judged) == 2 else None
    html = write_html(judged, runs, args.html, diffs) if args.html else None
    if getattr(args, "json", False):
        print_json(
            {
                "from": window[0],
                "to": window[1],
                "runs": [
                    {"name": j.label, "summary": j.summary, "incidents": records(j.per_incident)}
                    for j in judged
                ],
                "differences": records(diffs) if diffs is not None else [],
                "report": html,
            }
        )
        return 0
    print(f"hours {window[0]:%Y-%m-%dT%H}..{window[1]:%Y-%m-%dT%H} (end exclusive)")
    print(format_text(judged, diffs))
    if html:
        print(f"report: {html}")
    return 0


def add_judge_args(sp: argparse.ArgumentParser) -> None:
    """The `evaluate` options that judge a run's episodes instead of a replay's rows."""
    which = sp.add_mutually_exclusive_group()
    which.add_argument("--shadow", help="judge the alert episodes of this what-if shadow")
    which.add_argument(
        "--production", action="store_true", help="judge production's alert episodes"
    )
    sp.add_argument("--compare", help="side by side with this shadow (or `production`)")
    sp.add_argument(
        "--grace-hours", type=int, default=3, help="pages this long after an incident count"
    )
    sp.add_argument("--html", help="with --shadow/--production: write an HTML report here")


def add_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    sp = sub.add_parser("whatif", help="run past hours into a shadow schema; list, drop")
    add_warehouse_arg(sp)
    sp.add_argument("--name", help="the shadow (schema whatif_<name>)")
    add_range(sp, "hour", "2026-11-01T00:00Z", "required with --name")
    sp.add_argument("--config", default=argparse.SUPPRESS, help="settings file for the shadow")
    sp.add_argument("--models", nargs="+", help="only these models")
    add_allow_new_arg(sp)
    sp.add_argument("--list", action="store_true", help="list the shadows")
    add_json_arg(sp)
    sp.add_argument("--drop", metavar="NAME", help="drop a shadow (schema and files)")
    add_no_progress(sp)
    sp.set_defaults(func=cmd_whatif)
