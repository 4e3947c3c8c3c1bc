"""Learn a day's templates from masked lines, then match lines against them, frozen.

The grouping is our implementation of Brain's idea (S. Yu, P. He, N. Chen, Y. Wu, "Brain: Log
Parsing With Bidirectional Parallel Tree", IEEE Transactions on Services Computing 16(5),
2023): within lines of equal length, the constant words of one logging statement occur in
exactly the lines that statement wrote, so they share one frequency. Each line's *root* is its
largest set of positions whose (position, word) pairs have the same frequency (ties: the
higher frequency); lines with the same root form a group, wherever their variables are. A
group is then split on a varying position only when its values look like different statements
rather than values of one variable (`_split`); every other varying position becomes `<*>`.
Unlike Drain (P. He et al., ICWS 2017) no prefix tree routes lines by their first words, so a
variable in first position (a program name, a host) does not split a statement.

Why frozen: templates learned from the lines of the days before a day are matched, unchanged,
by every hour of the day, so signatures do not depend on the order hours run in (a backfill, a
rerun). Learning depends only on the multiset of masked lines. A line no template matches
keeps its masked text as its signature. Template ids are hashes of the template text.

Matching (same length, every constant token equal, `<*>` matches anything, the template with
the most constant tokens wins) uses one bitset per (position, token): a line's candidates are
the AND over its positions, so matching costs the line's length, not the number of templates.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from modelwatch.logs.masking import PARAM, tokens

#: The signature of lines beyond the template cap.
OTHER_ID, OTHER_TEXT = "o-other", "(other: over the template cap)"
#: A position with more distinct values than this in a group is a variable, never a split.
MAX_SPLIT_VALUES = 4
#: Positions tried as a split per group; templates compared pairwise per frame bucket.
SPLIT_CANDIDATES, FRAME_HEADS = 16, 64
#: Constant tokens a shared prefix or suffix alone needs to make one statement of templates of
#: different lengths, and a shared prefix and suffix together.
FRAME_CONSTANTS, TWO_SIDED_CONSTANTS = 4, 3
#: Which shared side alone makes a frame: a prefix (trailing free text) and a suffix (a leading
#: program name of several words).
ONE_SIDED = ("p", "s")


def template_id(template: str, unmatched: bool = False) -> str:
    """A stable id from the text: `t…` for learned templates, `u…` for unmatched lines."""
    digest = hashlib.sha1(template.encode("utf-8", "replace")).hexdigest()[:12]
    return ("u" if unmatched else "t") + digest


Line = tuple[tuple[str, ...], int]  # (tokens, how many lines had them)


def _roots(lines: list[Line]) -> dict[tuple[tuple[int, str], ...], list[int]]:
    """Lines of one length grouped by their root (see the module docstring)."""
    freq: Counter[tuple[int, str]] = Counter()
    for toks, n in lines:
        for i, t in enumerate(toks):
            freq[(i, t)] += n
    groups: dict[tuple[tuple[int, str], ...], list[int]] = defaultdict(list)
    for k, (toks, _) in enumerate(lines):
        f = [freq[(i, t)] for i, t in enumerate(toks)]
        best = max(Counter(f).items(), key=lambda kv: (kv[1], kv[0]))[0]
        groups[tuple((i, t) for i, t in enumerate(toks) if f[i] == best)].append(k)
    return groups


def _split(lines: list[Line], members: list[int]) -> list[list[int]]:
    """The group split into statements, or one statement whose varying positions are
    variables. A varying position with few values (at most `MAX_SPLIT_VALUES`) splits the
    group only when another varying position is a function of it (each of its values always
    comes with the same token there): two statements that differ in more than one place. A
    position that varies alone is a variable (`VM Started` / `VM Stopped`). At most
    `SPLIT_CANDIDATES` positions are tried per group, so a hostile group stays linear."""
    done: list[list[int]] = []
    todo = [members]
    while todo:
        group = todo.pop()
        parts = _split_once(lines, group)
        if parts is None:
            done.append(group)
        else:
            todo.extend(reversed(parts))
    return done


def _split_once(lines: list[Line], members: list[int]) -> list[list[int]] | None:
    width = len(lines[members[0]][0])
    varying = []
    for i in range(width):
        values = {lines[k][0][i] for k in members}
        if len(values) > 1:
            varying.append((len(values), i))
    varying.sort()
    for n_values, c in varying[:SPLIT_CANDIDATES]:
        if n_values > MAX_SPLIT_VALUES:
            break
        parts: dict[str, list[int]] = defaultdict(list)
        for k in members:
            parts[lines[k][0][c]].append(k)
        for _, d in varying:
            if d != c and all(len({lines[k][0][d] for k in g}) == 1 for g in parts.values()):
                return [parts[key] for key in sorted(parts)]
    return None


def _template(lines: list[Line], members: list[int]) -> str:
    first = lines[members[0]][0]
    cols = [t if all(lines[k][0][i] == t for k in members) else PARAM for i, t in enumerate(first)]
    return " ".join(cols)


def _constant(tok: str) -> bool:
    """A constant word: no variable in it, and a letter (punctuation like `-` says little)."""
    return PARAM not in tok and any(c.isalpha() for c in tok)


def _frame_keys(toks: tuple[str, ...]) -> list[tuple[str, tuple[str, ...]]]:
    """Where a template can share a frame with others: its shortest prefix and shortest
    suffix holding `FRAME_CONSTANTS` constant words (merged whole), and its head and tail up
    to the first and from the last constant word (pairs checked in `_two_sided`)."""
    keys = []
    ends = []
    for side in ("p", "s"):
        seq = toks if side == "p" else toks[::-1]
        seen = 0
        for j, t in enumerate(seq):
            if _constant(t):
                seen += 1
                if seen == 1:
                    ends.append(seq[: j + 1])
                if seen == FRAME_CONSTANTS:
                    if side in ONE_SIDED:
                        keys.append((side, seq[: j + 1]))
                    break
    if len(ends) == 2:
        keys.append(("ps", (*ends[0], "|", *ends[1])))
    return keys


def _merge_frames(templates: list[tuple[str, ...]]) -> list[int]:
    """For each template, the index of the template it merges into (see `learn_templates`)."""
    parent = list(range(len(templates)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    buckets: dict[tuple[str, tuple[str, ...]], list[int]] = defaultdict(list)
    for i, toks in enumerate(templates):
        for key in _frame_keys(toks):
            buckets[key].append(i)
    for (side, _), members in sorted(buckets.items()):
        if side != "ps":
            for j in members[1:]:
                parent[find(j)] = find(members[0])
            continue
        heads: list[int] = []  # at most FRAME_HEADS representatives: linear in the bucket
        for b in members:
            a = next((a for a in heads if _two_sided(templates[a], templates[b])), None)
            if a is not None:
                parent[find(b)] = find(a)
            elif len(heads) < FRAME_HEADS:
                heads.append(b)
    return [find(i) for i in range(len(templates))]


def _two_sided(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Same prefix and suffix around one differing middle, with enough constants in them."""
    n = min(len(a), len(b))
    p = 0
    while p < n and a[p] == b[p]:
        p += 1
    s = 0
    while s < n - p and a[-1 - s] == b[-1 - s]:
        s += 1
    shared = sum(map(_constant, a[:p])) + sum(_constant(t) for t in a[len(a) - s :])
    return shared >= TWO_SIDED_CONSTANTS


def learn_templates(
    masked: Iterable[str], max_templates: int | None = None
) -> dict[str, tuple[str, int]]:
    """Templates from masked lines: id -> (template, lines it covers), at most `max_templates`
    statements (the most frequent; ties by text). Deterministic in the multiset of lines.

    Templates of different lengths that share a frame (a prefix and a suffix with enough
    constant words around one differing middle, or a long enough prefix or suffix alone) are
    one statement with a variable of several words (`The <*> service entered the <*> state.`,
    an optional `(1.2 KB)`): they keep their own rows, with ids `<statement id>+<own hash>`,
    and match as the statement (`FrozenTemplates`)."""
    counts = Counter(m for m in masked if m)
    by_len: dict[int, list[Line]] = defaultdict(list)
    for text, n in sorted(counts.items()):
        toks = tuple(tokens(text))
        by_len[len(toks)].append((toks, n))
    found: dict[str, int] = {}
    for width in sorted(by_len):
        lines = by_len[width]
        for _, members in sorted(_roots(lines).items()):
            for group in _split(lines, members):
                text = _template(lines, group)
                found[text] = found.get(text, 0) + sum(lines[k][1] for k in group)
    texts = sorted(found, key=lambda t: (-found[t], t))
    heads = _merge_frames([tuple(tokens(t)) for t in texts])
    statements: dict[int, list[int]] = defaultdict(list)
    for i, head in enumerate(heads):
        statements[head].append(i)  # the head is the member with the most lines
    ranked = sorted(statements.values(), key=lambda m: (-sum(found[texts[i]] for i in m), m[0]))
    if max_templates is not None:
        ranked = ranked[:max_templates]
    out: dict[str, tuple[str, int]] = {}
    for members in ranked:
        head = template_id(texts[members[0]])
        for i in members:
            tid = head if i == members[0] else f"{head}+{template_id(texts[i])[1:9]}"
            out[tid] = (texts[i], found[texts[i]])
    return out


@dataclass
class FrozenTemplates:
    """A day's templates, matched without ever changing."""

    templates: dict[str, str]
    _ids: dict[int, list[str]] = field(default_factory=dict)
    _const: dict[int, list[dict[str, int]]] = field(default_factory=dict)
    _wild: dict[int, list[int]] = field(default_factory=dict)
    _cache: dict[str, tuple[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        by_len: dict[int, list[tuple[int, str, list[str]]]] = defaultdict(list)
        for tid, text in self.templates.items():
            toks = tokens(text)
            const = sum(1 for t in toks if t != PARAM)
            by_len[len(toks)].append((-const, tid, toks))
        for width, cands in by_len.items():
            cands.sort()  # bit 0 is the most specific template (ties by id)
            self._ids[width] = [tid for _, tid, _ in cands]
            const: list[dict[str, int]] = [defaultdict(int) for _ in range(width)]
            wild = [0] * width
            for bit, (_, _, toks) in enumerate(cands):
                for i, t in enumerate(toks):
                    if t == PARAM:
                        wild[i] |= 1 << bit
                    else:
                        const[i][t] |= 1 << bit
            self._const[width] = [dict(c) for c in const]
            self._wild[width] = wild

    def match(self, masked: str) -> tuple[str, str]:
        """(template_id, template) of a masked line; unmatched lines get their own."""
        hit = self._cache.get(masked)
        if hit is not None:
            return hit
        toks = tokens(masked)
        ids = self._ids.get(len(toks))
        found = None
        if ids:
            const, wild = self._const[len(toks)], self._wild[len(toks)]
            alive = (1 << len(ids)) - 1
            for i, t in enumerate(toks):
                alive &= wild[i] | const[i].get(t, 0)
                if not alive:
                    break
            if alive:
                own = ids[(alive & -alive).bit_length() - 1]
                tid = own.split("+")[0]  # the statement a merged member belongs to
                found = (tid, self.templates.get(tid, self.templates[own]))
        if found is None:
            found = (template_id(masked, unmatched=True), masked)
        if len(self._cache) < 1_000_000:
            self._cache[masked] = found
        return found
