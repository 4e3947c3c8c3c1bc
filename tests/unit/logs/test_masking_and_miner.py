"""Masking and template mining: variable shapes masked, secrets hidden, templates independent of
the order lines arrive in, and grouping close to the truth on a small labelled corpus."""

from __future__ import annotations

import random

from modelwatch.logs.masking import mask, mask_secrets
from modelwatch.logs.miner import FrozenTemplates, learn_templates, template_id


def test_variable_shapes_become_params() -> None:
    line = (
        "conn 10.0.0.12:5432 req 3f2a1b4c-1111-2222-3333-444455556666 took 35ms "
        "path /var/lib/x.db id 0x1f hash deadbeef99 said 'hello there' at 2026-11-01T09:00:00Z"
    )
    assert mask(line) == ("conn <*> req <*> took <*> path <*> id <*> hash <*> said <*> at <*>")
    assert mask("Receiving block blk_-1608999687919862906 of 512 MB") == (
        "Receiving block blk_<*> of <*> MB"
    )


def test_secrets_are_hidden_before_anything_else() -> None:
    out = mask_secrets("login user=bob password=hunter2 token: abc123 Bearer eyJhbGciOi.x.y")
    assert "hunter2" not in out and "abc123" not in out and "eyJhbGciOi" not in out
    assert "password=***" in out
    assert "s3cr3t" not in mask_secrets("dsn postgres://bob:s3cr3t@db:5432/x")


CORPUS = [
    ("A", "Receiving block blk_{n} src: /10.0.{a}.{b}:50010 dest: /10.0.{b}.{a}:50010"),
    ("B", "PacketResponder {a} for block blk_{n} terminating"),
    ("C", "Verification succeeded for blk_{n}"),
    ("D", "Deleting block blk_{n} file /data/{a}/current/blk_{n}"),
    ("E", "GC pause {a} ms, heap used {n} MB of 4096 MB"),
    ("F", "timeout calling feature-store-eu after {n} ms"),
    ("G", "user {a} logged in from 192.168.{a}.{b}"),
    ("H", "health check ok"),
]


def corpus(seed: int) -> list[tuple[str, str]]:
    g = random.Random(seed)
    out = []
    for _ in range(600):
        label, fmt = CORPUS[g.randrange(len(CORPUS))]
        out.append((label, fmt.format(n=g.randrange(10**6), a=g.randrange(255), b=g.randrange(9))))
    return out


def grouping_accuracy(labels: list[str], found: list[str]) -> float:
    """Loghub's grouping accuracy: a line is right when its group holds exactly its label's."""
    by_found: dict[str, set[int]] = {}
    by_label: dict[str, set[int]] = {}
    for i, (lab, got) in enumerate(zip(labels, found, strict=True)):
        by_found.setdefault(got, set()).add(i)
        by_label.setdefault(lab, set()).add(i)
    right = sum(len(g) for g in by_found.values() if g in by_label.values())
    return right / len(labels)


def test_templates_group_a_labelled_corpus_and_ignore_line_order() -> None:
    lines = corpus(1)
    masked = [mask(m) for _, m in lines]
    learned = learn_templates(masked)
    shuffled = masked[:]
    random.Random(2).shuffle(shuffled)
    assert learn_templates(shuffled) == learned  # the order lines came in does not matter
    frozen = FrozenTemplates({k: v[0] for k, v in learned.items()})
    found = [frozen.match(m)[0] for m in masked]
    assert grouping_accuracy([lab for lab, _ in lines], found) >= 0.95
    assert len(learned) == len(CORPUS)


def test_unmatched_lines_get_a_deterministic_signature_of_their_own() -> None:
    frozen = FrozenTemplates({template_id("GC pause <*> ms"): "GC pause <*> ms"})
    assert frozen.match("GC pause <*> ms")[0].startswith("t")
    a = frozen.match(mask("disk /dev/sda1 failed after 3 retries"))
    b = FrozenTemplates({}).match(mask("disk /dev/sdb2 failed after 7 retries"))
    assert a == b and a[0].startswith("u")
