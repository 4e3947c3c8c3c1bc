"""Each model's labels (team, tier, owner, cluster, upstream dependencies): the one loader.

Routing and per-model overrides read the routing labels table (`alerts.labels`, e.g. `models`
with team/tier/owner columns): one value per label (`table_labels`). The hints read that table
merged with the long `hints.labels_table` (model_id, label, value: one row per upstream
dependency) and `hints.labels` of the settings: a label may have several values there
(`all_labels`). Every table is optional; a missing table or column gives no such label.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from modelwatch.config import LabelsConfig, Settings, needs_labels
from modelwatch.warehouse import Warehouse
from modelwatch.warehouse.base import quote_ident

#: model -> label -> value (the routing table's labels).
Labels = dict[str, str]
#: model -> label -> values (every source merged).
LabelSets = dict[str, dict[str, set[str]]]


def _columns(wh: Warehouse, table: str) -> set[str]:
    cols = wh.query(
        "SELECT column_name FROM information_schema.columns WHERE table_name = :t",
        {"t": table.split(".")[-1]},
    )
    return {c.lower() for c in cols["column_name"]}


def table_labels(
    wh: Warehouse, cfg: LabelsConfig, models: Sequence[str] | None
) -> dict[str, Labels]:
    """The routing table's labels of `models` (None: every model in it); models or columns
    it lacks simply get no such label (the table is optional: routing then uses defaults)."""
    if not cfg.table or (models is not None and not models):
        return {}
    if not wh.table_exists(cfg.table.split(".")[-1]):
        return {}
    have = _columns(wh, cfg.table)
    if cfg.id_column.lower() not in have:
        return {}
    wanted = {ours: theirs for ours, theirs in cfg.columns.items() if theirs.lower() in have}
    if not wanted:
        return {}
    select = ", ".join(f"{quote_ident(t)} AS {quote_ident(o)}" for o, t in wanted.items())
    ident = quote_ident(cfg.id_column)
    sql = f"SELECT {ident} AS model_id, {select} FROM {quote_ident(cfg.table)}"
    params = {}
    if models is not None:
        sql += f" WHERE {ident} IN :models"
        params["models"] = list(models)
    out: dict[str, Labels] = {}
    for r in wh.query(sql, params).to_dict("records"):
        own = {k: str(r[k]) for k in wanted if r.get(k) is not None}
        out.setdefault(str(r["model_id"]), {}).update(own)
    return out


def override_labels(wh: Warehouse, settings: Settings, models: Sequence[str]) -> dict[str, Labels]:
    """The labels per-model overrides match on, when some override needs them; else none (no
    query)."""
    if not needs_labels(settings.overrides):
        return {}
    return table_labels(wh, settings.alerts.labels, models)


def all_labels(wh: Warehouse, settings: Settings) -> LabelSets:
    """Every model's labels from the three places, merged: model -> label -> values."""
    out: LabelSets = defaultdict(lambda: defaultdict(set))
    for model, labels in table_labels(wh, settings.alerts.labels, None).items():
        for k, v in labels.items():
            out[model][k].add(v)
    table = settings.hints.labels_table
    long_form = table and wh.table_exists(table.split(".")[-1])
    if long_form and {"model_id", "label", "value"} <= _columns(wh, table):
        got = wh.query(f"SELECT model_id, label, value FROM {quote_ident(table)}")
        for r in got.itertuples(index=False):
            if r.model_id is not None and r.label is not None and r.value is not None:
                out[str(r.model_id)][str(r.label)].add(str(r.value))
    for model, labels in settings.hints.labels.items():
        for k, v in labels.items():
            out[model][k].update([v] if isinstance(v, str) else v)
    return {m: dict(v) for m, v in out.items()}


def members(labels: LabelSets, key: str, value: str) -> set[str]:
    """The models carrying `key=value`."""
    return {m for m, lab in labels.items() if value in lab.get(key, ())}
