"""One time-range convention for every command: `--from T0 --to T1`, T1 exclusive.

The older spellings keep their meaning for one release and print a one-line deprecation
warning on stderr: `run --hour H [--until U]` is `--from H --to U+1h` (U inclusive, H when
absent); `--start/--end` are `--from/--to`; `replay --quiet` and `whatif --quiet` (the progress
bar) are `--no-progress`. An empty or reversed range is an error before anything is read or
written (never a run of nothing that exits 0).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from modelwatch.run import HOUR, WindowError
from modelwatch.timestamps import to_naive_utc

T = TypeVar("T", bound=datetime)


class Deprecated(argparse.Action):
    """An old flag: stores its value (or True) where the new one does, and notes the
    deprecation for `modelwatch.cli.main` to print once."""

    def __init__(self, option_strings: list[str], dest: str, instead: str, **kw: Any) -> None:
        self.instead = instead
        super().__init__(option_strings, dest, **kw)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        setattr(namespace, self.dest, True if self.nargs == 0 else values)
        notes = list(getattr(namespace, "deprecations", None) or [])
        notes.append(f"{option_string} is deprecated and goes in the next release: {self.instead}")
        namespace.deprecations = notes


def deprecated_flag(
    sp: argparse.ArgumentParser, flag: str, dest: str, instead: str, switch: bool = False
) -> None:
    """Add an old spelling of an option (a switch when `switch`)."""
    extra: dict[str, Any] = {"nargs": 0, "default": False} if switch else {}
    sp.add_argument(
        flag, dest=dest, action=Deprecated, instead=instead, help=f"deprecated: {instead}", **extra
    )


def add_no_progress(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--no-progress", action="store_true", help="no progress bar")
    deprecated_flag(sp, "--quiet", "no_progress", "use --no-progress", switch=True)


def show_progress(args: argparse.Namespace) -> bool:
    """A progress bar unless `--no-progress` or the top-level `-q`."""
    return not (getattr(args, "no_progress", False) or getattr(args, "quiet", False))


def add_range(sp: argparse.ArgumentParser, what: str, example: str, to_default: str) -> None:
    """`--from T0 --to T1` (T1 exclusive)."""
    sp.add_argument("--from", dest="range_from", metavar="T0", help=f"first {what}, e.g. {example}")
    sp.add_argument("--to", dest="range_to", metavar="T1", help=f"end, exclusive ({to_default})")


def parse_time(text: str) -> datetime:
    """An ISO 8601 time, any minute (naive means UTC), as naive UTC."""
    try:
        return to_naive_utc(datetime.fromisoformat(text.strip().replace("Z", "+00:00")))
    except (OverflowError, ValueError) as exc:
        raise WindowError(f"{text!r} is not an ISO time like 2026-11-01T09:30Z") from exc


def check_range(start: datetime, end: datetime) -> None:
    if end <= start:
        what = "empty" if end == start else "reversed"
        raise WindowError(
            f"the range {start:%Y-%m-%dT%H:%M}Z .. {end:%Y-%m-%dT%H:%M}Z is {what}: "
            "--to (exclusive) must come after --from"
        )


def new_or_old(args: argparse.Namespace, old: tuple[str, str]) -> tuple[str | None, str | None]:
    """`--from/--to`, else the deprecated pair `old` (never both)."""
    new = (getattr(args, "range_from", None), getattr(args, "range_to", None))
    was = (getattr(args, old[0], None), getattr(args, old[1], None))
    if any(new) and any(was):
        raise ValueError("give --from/--to or the deprecated flags, not both")
    return new if any(new) else was


def time_range(
    args: argparse.Namespace,
    parse: Callable[[str], T],
    old: tuple[str, str] = ("start", "end"),
    span: timedelta | None = None,
) -> tuple[T, T] | None:
    """[from, to) from `--from/--to` (or the deprecated pair); `--to` defaults to `--from`
    plus `span` when given. None when neither end is given."""
    first, end = new_or_old(args, old)
    if first is None and end is None:
        return None
    if first is None:
        raise ValueError("--to needs --from")
    start = parse(first)
    if end is None and span is None:
        raise ValueError("--from needs --to (exclusive)")
    stop = parse(end) if end is not None else start + span  # type: ignore[operator]
    check_range(start, stop)
    return start, stop  # type: ignore[return-value]


def run_hours(
    args: argparse.Namespace, parse: Callable[[str], datetime]
) -> tuple[datetime, datetime]:
    """`run`'s hours [from, to): `--from H [--to T]`, or the old `--hour H [--until U]`."""
    if args.hour or args.until:
        if args.range_from or args.range_to:
            raise ValueError("give --from/--to or the deprecated --hour/--until, not both")
        if not args.hour:
            raise ValueError("--until needs --hour")
        start = parse(args.hour)
        stop = (parse(args.until) if args.until else start) + HOUR
        check_range(start, stop)
        return start, stop
    got = time_range(args, parse, old=("hour", "until"), span=HOUR)
    if got is None:
        raise ValueError("give the hours to run: --from H [--to T] (T exclusive; default H+1h)")
    return got
