"""Learn a day's templates with Drain (drain3), then match lines against them, frozen.

Why frozen: Drain changes its templates as it sees lines, so mining hours one after another
would give signatures that depend on the order hours were processed (a backfill, a rerun).
Templates are learned once per day, in the daily training pass, from the masked lines of the
days before it, fed to Drain in a fixed order (most frequent first, then by text); every hour
of the day is then only matched against them. A line no template matches keeps its masked
text as its signature. Template ids are hashes of the template text, so the same template has
the same id on every day it is learned.

Matching follows Drain's own rule (same number of tokens, every constant token equal; `<*>`
matches anything), choosing the template with the most constant tokens; matches are cached
per distinct masked line, which makes an hour of 100,000 lines cost a few thousand lookups.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from modelwatch.logs.masking import PARAM, tokens


def template_id(template: str, unmatched: bool = False) -> str:
    """A stable id from the text: `t…` for learned templates, `u…` for unmatched lines."""
    digest = hashlib.sha1(template.encode("utf-8", "replace")).hexdigest()[:12]
    return ("u" if unmatched else "t") + digest


def learn_templates(
    masked: Iterable[str], sim_th: float = 0.5, depth: int = 4
) -> dict[str, tuple[str, int]]:
    """Templates from masked lines: id -> (template, lines it covers). Deterministic in the
    multiset of lines (not their order)."""
    from drain3.drain import Drain

    counts = Counter(m for m in masked if m)
    drain = Drain(depth=depth, sim_th=sim_th, max_children=100, param_str=PARAM)
    owner: dict[str, int] = {}
    for line, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        cluster, _ = drain.add_log_message(line)
        owner[line] = cluster.cluster_id
    sizes: Counter[int] = Counter()
    for line, n in counts.items():
        sizes[owner[line]] += n
    out: dict[str, tuple[str, int]] = {}
    for cluster in drain.clusters:
        text = cluster.get_template()
        tid = template_id(text)
        prev = out.get(tid, ("", 0))[1]
        out[tid] = (text, prev + sizes[cluster.cluster_id])
    return out


@dataclass
class FrozenTemplates:
    """A day's templates, matched without ever changing."""

    templates: dict[str, str]
    _by_len: dict[int, list[tuple[str, list[str], int]]] = field(default_factory=dict)
    _cache: dict[str, tuple[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for tid, text in sorted(self.templates.items()):
            toks = tokens(text)
            const = sum(1 for t in toks if t != PARAM)
            self._by_len.setdefault(len(toks), []).append((tid, toks, const))
        for cands in self._by_len.values():  # most specific first, ties by id
            cands.sort(key=lambda c: (-c[2], c[0]))

    def match(self, masked: str) -> tuple[str, str]:
        """(template_id, template) of a masked line; unmatched lines get their own."""
        hit = self._cache.get(masked)
        if hit is not None:
            return hit
        toks = tokens(masked)
        found = None
        for tid, tmpl, _ in self._by_len.get(len(toks), ()):
            if all(t in (PARAM, s) for t, s in zip(tmpl, toks, strict=True)):
                found = (tid, self.templates[tid])
                break
        if found is None:
            found = (template_id(masked, unmatched=True), masked)
        self._cache[masked] = found
        return found
