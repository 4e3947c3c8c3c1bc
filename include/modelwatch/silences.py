"""Silences and maintenance windows: alerts that are recorded but deliberately not sent.

A silence is an operator's decision ("model-003 is being retrained until 18:00, by alice"),
so it is stored in the warehouse with who and why, and it expires on its own; `modelwatch
silence add/list/expire` manages it. A maintenance window is a standing arrangement (every
Sunday 02:00-04:00 for team ads), so it lives in the config. Both match alerts by labels.

An alert event is silenced when its hour [h, h+1) overlaps the silence. Judging by the data
hour, not the wall clock, keeps reruns of an hour deterministic.
"""

from __future__ import annotations

import argparse
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pandas as pd

from modelwatch.config import ALERT_LABELS, MaintenanceWindow
from modelwatch.warehouse import Warehouse
from modelwatch.window import HOUR, to_naive_utc

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SILENCE_COLUMNS = [
    "silence_id",
    "matchers",
    "starts_at",
    "ends_at",
    "created_by",
    "comment",
    "created_at",
    "expired_by",
]
_DURATION = re.compile(r"^(\d+)([mhd])$")


def matches(matchers: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    """Every matcher equals the label (an empty matcher set matches everything)."""
    return all(labels.get(k) == v for k, v in matchers.items())


@dataclass(frozen=True)
class Silence:
    silence_id: str
    matchers: dict[str, str]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str

    def covers(self, hour: datetime, labels: Mapping[str, str]) -> bool:
        return (
            self.starts_at < hour + HOUR and hour < self.ends_at and matches(self.matchers, labels)
        )


def window_covers(w: MaintenanceWindow, hour: datetime) -> bool:
    """Whether the hour starts inside one of the window's weekly occurrences (UTC)."""
    start_h = int(w.start[:2])
    # An occurrence may have started up to `duration_hours` ago, possibly on an earlier day.
    for back in range(w.duration_hours):
        h = hour - timedelta(hours=back)
        if h.hour == start_h and (not w.weekdays or WEEKDAYS[h.weekday()] in w.weekdays):
            return True
    return False


def parse_duration(text: str) -> timedelta:
    m = _DURATION.match(text.strip())
    if not m:
        raise ValueError(f"duration {text!r} must look like 30m, 4h or 2d")
    n, unit = int(m.group(1)), m.group(2)
    return timedelta(minutes=n) if unit == "m" else timedelta(hours=n if unit == "h" else 24 * n)


def parse_matchers(items: Sequence[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not value or key not in ALERT_LABELS:
            raise ValueError(
                f"matcher {item!r} must be label=value with a label of {', '.join(ALERT_LABELS)}"
            )
        out[key] = value
    if not out:
        raise ValueError("a silence needs at least one matcher (e.g. model_id=model-003)")
    return out


def add_silence(
    wh: Warehouse,
    matchers: Mapping[str, str],
    starts_at: datetime,
    ends_at: datetime,
    created_by: str,
    comment: str,
    now: datetime,
) -> str:
    """Store a silence and return its id; who and why are required so on-call can ask."""
    if ends_at <= starts_at:
        raise ValueError("a silence must end after it starts")
    if not created_by.strip() or not comment.strip():
        raise ValueError("a silence needs who (--by) and why (--comment)")
    sid = uuid.uuid4().hex[:12]
    row = pd.DataFrame(
        [
            {
                "silence_id": sid,
                "matchers": json.dumps(dict(sorted(matchers.items()))),
                "starts_at": to_naive_utc(starts_at),
                "ends_at": to_naive_utc(ends_at),
                "created_by": created_by,
                "comment": comment,
                "created_at": to_naive_utc(now),
                "expired_by": None,
            }
        ],
        columns=SILENCE_COLUMNS,
    )
    for c in ("starts_at", "ends_at", "created_at"):
        row[c] = row[c].astype("datetime64[us]")
    row["expired_by"] = row["expired_by"].astype("string")
    wh.insert("mw_silences", row)
    return sid


def expire_silence(wh: Warehouse, silence_id: str, by: str, now: datetime) -> bool:
    """End a silence now (kept on record); False if no such silence is still running."""
    found = wh.query(
        "SELECT silence_id FROM mw_silences WHERE silence_id = :id AND ends_at > :now",
        {"id": silence_id, "now": to_naive_utc(now)},
    )
    if found.empty:
        return False
    wh.execute(
        "UPDATE mw_silences SET ends_at = :now, expired_by = :by WHERE silence_id = :id",
        {"id": silence_id, "now": to_naive_utc(now), "by": by},
    )
    return True


def list_silences(wh: Warehouse, now: datetime | None = None) -> pd.DataFrame:
    """All silences, or only those not yet ended at `now`."""
    if now is None:
        return wh.query("SELECT * FROM mw_silences ORDER BY starts_at, silence_id")
    return wh.query(
        "SELECT * FROM mw_silences WHERE ends_at > :now ORDER BY starts_at, silence_id",
        {"now": to_naive_utc(now)},
    )


def load_silences(wh: Warehouse, start: datetime, end: datetime) -> list[Silence]:
    """Silences overlapping the hours [start, end]."""
    if not wh.table_exists("mw_silences"):
        return []
    frame = wh.query(
        "SELECT * FROM mw_silences WHERE starts_at < :end AND ends_at > :start",
        {"start": start, "end": end + HOUR},
    )
    return [
        Silence(
            r.silence_id,
            json.loads(r.matchers),
            pd.Timestamp(r.starts_at).to_pydatetime(),
            pd.Timestamp(r.ends_at).to_pydatetime(),
            r.created_by,
            r.comment,
        )
        for r in frame.itertuples(index=False)
    ]


# ------------------------------------------------------------------------------------------ CLI
def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def cmd_silence(args: argparse.Namespace) -> int:
    from modelwatch.cli import _spec
    from modelwatch.warehouse import open_warehouse

    now = _now()
    with open_warehouse(_spec(args), migrate=True) as wh:
        if args.silence_command == "add":
            start = (
                to_naive_utc(datetime.fromisoformat(args.start.replace("Z", "+00:00")))
                if args.start
                else now
            )
            if args.end:
                end = to_naive_utc(datetime.fromisoformat(args.end.replace("Z", "+00:00")))
            else:
                end = start + parse_duration(args.duration)
            sid = add_silence(
                wh, parse_matchers(args.match), start, end, args.by, args.comment, now
            )
            print(
                f"silence {sid}: {' '.join(args.match)} from {start:%Y-%m-%d %H:%M} "
                f"to {end:%Y-%m-%d %H:%M} UTC, by {args.by}: {args.comment}"
            )
        elif args.silence_command == "list":
            frame = list_silences(wh, None if args.all else now)
            if frame.empty:
                print("no silences" if args.all else "no active or pending silences")
            for r in frame.itertuples(index=False):
                state = "expired" if pd.Timestamp(r.ends_at) <= pd.Timestamp(now) else "active"
                print(
                    f"{r.silence_id}  {state:7}  {pd.Timestamp(r.starts_at):%Y-%m-%d %H:%M} .. "
                    f"{pd.Timestamp(r.ends_at):%Y-%m-%d %H:%M}  {r.matchers}  "
                    f"by {r.created_by}: {r.comment}"
                )
        else:
            if not expire_silence(wh, args.silence_id, args.by, now):
                print(f"no running silence {args.silence_id}")
                return 1
            print(f"silence {args.silence_id} expired")
    return 0


def add_parser(sub: argparse._SubParsersAction, wh_arg) -> None:  # type: ignore[type-arg]
    """The `modelwatch silence add|list|expire` subcommands (hooked in by cli.py)."""
    sp = sub.add_parser("silence", help="manage alert silences (stored in the warehouse)")
    ss = sp.add_subparsers(dest="silence_command", required=True)
    a = ss.add_parser("add", help="silence alerts matching labels for a while")
    a.add_argument(
        "--match",
        action="append",
        required=True,
        metavar="LABEL=VALUE",
        help=f"repeatable; labels: {', '.join(ALERT_LABELS)}",
    )
    a.add_argument("--duration", default="2h", help="e.g. 30m, 4h, 2d (default 2h)")
    a.add_argument("--start", help="ISO time (default: now)")
    a.add_argument("--end", help="ISO time (instead of --duration)")
    a.add_argument("--by", required=True, help="who is silencing")
    a.add_argument("--comment", required=True, help="why")
    ls = ss.add_parser("list", help="silences that are active or pending")
    ls.add_argument("--all", action="store_true", help="include expired ones")
    ex = ss.add_parser("expire", help="end a silence now")
    ex.add_argument("silence_id")
    ex.add_argument("--by", default="cli", help="who is expiring it")
    for p in (a, ls, ex):
        wh_arg(p)
    sp.set_defaults(func=cmd_silence)
