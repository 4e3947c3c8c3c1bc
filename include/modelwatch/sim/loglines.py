"""Log lines a simulated model writes: background chatter, and what each incident adds.

Every model writes from its own random stream (the story's seed and the model's index), so the
lines of one model do not change with the fleet's size, and nothing here touches the streams
the metrics are drawn from. Rates are per hour; timestamps are spread over the hour.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

#: Background templates: (level, logger, weight); the text is made in `_background_line`.
BACKGROUND = (
    ("INFO", "serving", 0.55),
    ("INFO", "batcher", 0.20),
    ("INFO", "health", 0.10),
    ("DEBUG", "cache", 0.08),
    ("WARN", "serving", 0.04),
    ("ERROR", "client", 0.01),
    ("WARN", "runtime", 0.02),
)
_WEIGHTS = np.array([w for *_, w in BACKGROUND]) / sum(w for *_, w in BACKGROUND)
FEATURES = ("country_code", "device_type", "basket_size", "session_len", "merchant_id")
FLAGS = ("new-ranker-ui", "dark-mode-banner", "promo-widget", "fast-checkout")


@dataclass(frozen=True)
class Burst:
    """Extra lines of one kind: `rate` per hour over [start, end), growing from `rate0` if set."""

    start: datetime
    end: datetime
    level: str
    logger: str
    kind: str
    rate: float
    rate0: float | None = None
    arg: str = ""


def _uuid(g: np.random.Generator) -> str:
    h = g.integers(0, 2**63, size=2)
    s = f"{int(h[0]):016x}{int(h[1]):016x}"
    return f"{s[:8]}-{s[8:12]}-{s[12:16]}-{s[16:20]}-{s[20:32]}"


def _background_line(k: int, g: np.random.Generator, model: str, deps: list[str]) -> str:
    if k == 0:
        return f"request served in {g.integers(5, 300)} ms status=200 path=/v1/predict"
    if k == 1:
        return f"batch of {g.integers(8, 256)} predictions scored in {g.integers(10, 900)} ms"
    if k == 2:
        return f"health check ok (uptime {g.integers(1000, 900000)} s)"
    if k == 3:
        return f"cache hit ratio {g.uniform(0.6, 0.99):.3f} for {model}"
    if k == 4:
        return f"slow request {_uuid(g)} took {g.integers(800, 3000)} ms"
    if k == 5:
        dep = deps[int(g.integers(0, len(deps)))] if deps else "upstream"
        return f"upstream {dep} returned 503 for request {_uuid(g)}"
    return _gc_line(g, 0.5)


def _gc_line(g: np.random.Generator, heap: float) -> str:
    cap = 4096
    used = int(cap * min(0.99, heap + g.uniform(-0.03, 0.03)))
    return f"GC pause {g.integers(20, 400)} ms, heap used {used} MB of {cap} MB"


def burst_line(b: Burst, g: np.random.Generator, progress: float) -> str:
    """One line of a burst; `progress` in [0, 1] is how far into the burst it is."""
    if b.kind == "slow_path":
        feat = FEATURES[int(g.integers(0, len(FEATURES)))]
        return f"falling back to slow path: feature {feat} not vectorised (request {_uuid(g)})"
    if b.kind == "bad_category":
        cat = "".join(chr(65 + int(c)) for c in g.integers(0, 26, size=2))
        return (
            f"ValueError: feature 'country_code' has unexpected category '{cat}' "
            f"in request {_uuid(g)}"
        )
    if b.kind == "gc":
        return _gc_line(g, 0.55 + 0.4 * progress)
    if b.kind == "oom":
        return f"container killed: OOMKilled (exit code 137), restart {g.integers(1, 9)}"
    if b.kind == "timeout":
        return f"timeout calling {b.arg} after {g.integers(3000, 5000)} ms (request {_uuid(g)})"
    if b.kind == "negative_latency":
        return f"exporter: negative latency {-g.uniform(1, 500):.1f} reported, kept as is"
    if b.kind == "flag":
        return f"feature flag {b.arg} enabled for {g.integers(1, 50)}% of traffic"
    if b.kind == "loaded":
        return f"loaded model {b.arg} from s3://models/{b.arg}/{_uuid(g)[:8]}"
    raise ValueError(f"unknown burst kind {b.kind!r}")


def model_lines(
    g: np.random.Generator,
    model: str,
    start: datetime,
    hours: int,
    rate: float,
    deps: list[str],
    bursts: list[Burst],
    volume: dict[int, float],
    silent: list[tuple[datetime, datetime]],
) -> list[tuple[datetime, str, str, str]]:
    """(ts, level, logger, message) of one model over `hours` hours from `start`.

    `volume` multiplies the background rate in some hours (a traffic surge logs more requests);
    `silent` windows write nothing (the model is down)."""
    out: list[tuple[datetime, str, str, str]] = []
    for h in range(hours):
        t0 = start + timedelta(hours=h)
        n = int(g.poisson(rate * volume.get(h, 1.0)))
        kinds = g.choice(len(BACKGROUND), size=n, p=_WEIGHTS)
        secs = np.sort(g.uniform(0, 3600, size=n))
        for k, s in zip(kinds, secs, strict=True):
            level, logger, _ = BACKGROUND[int(k)]
            out.append(
                (
                    t0 + timedelta(seconds=float(s)),
                    level,
                    logger,
                    _background_line(int(k), g, model, deps),
                )
            )
        for b in bursts:
            if not (b.start < t0 + timedelta(hours=1) and t0 < b.end):
                continue
            span = max((b.end - b.start) / timedelta(hours=1), 1e-9)
            progress = min(max((t0 - b.start) / timedelta(hours=1) / span, 0.0), 1.0)
            r = b.rate if b.rate0 is None else b.rate0 + (b.rate - b.rate0) * progress
            m = int(g.poisson(r))
            for s in np.sort(g.uniform(0, 3600, size=m)):
                ts = t0 + timedelta(seconds=float(s))
                if b.start <= ts < b.end:
                    out.append((ts, b.level, b.logger, burst_line(b, g, progress)))
    return [row for row in out if not any(a <= row[0] < z for a, z in silent)]
