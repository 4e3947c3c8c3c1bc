"""Who shares what: each model's labels (team, cluster, node pool, upstream dependencies).

From three optional places, merged: the routing labels table (`alerts.labels`, e.g. `models`
with team/tier/owner columns), the long `hints.labels_table` (model_id, label, value: one row
per upstream dependency), and `hints.labels` in the config. A label may have several values.
"""

from __future__ import annotations

from collections import defaultdict

from modelwatch.config import Settings
from modelwatch.warehouse import Warehouse
from modelwatch.warehouse.base import quote_ident

Labels = dict[str, dict[str, set[str]]]


def _columns(wh: Warehouse, table: str) -> set[str]:
    cols = wh.query(
        "SELECT column_name FROM information_schema.columns WHERE table_name = :t",
        {"t": table.split(".")[-1]},
    )
    return {c.lower() for c in cols["column_name"]}


def load_labels(wh: Warehouse, settings: Settings) -> Labels:
    """Every model's labels: model -> label -> values."""
    out: Labels = defaultdict(lambda: defaultdict(set))
    lc = settings.alerts.labels
    if lc.table and wh.table_exists(lc.table.split(".")[-1]):
        have = _columns(wh, lc.table)
        wanted = {o: t for o, t in lc.columns.items() if t.lower() in have}
        if lc.id_column.lower() in have and wanted:
            sel = ", ".join(f"{quote_ident(t)} AS {quote_ident(o)}" for o, t in wanted.items())
            ident, table = quote_ident(lc.id_column), quote_ident(lc.table)
            got = wh.query(f"SELECT {ident} AS model_id, {sel} FROM {table}")
            for r in got.to_dict("records"):
                for k in wanted:
                    if r.get(k) is not None:
                        out[str(r["model_id"])][k].add(str(r[k]))
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


def members(labels: Labels, key: str, value: str) -> set[str]:
    """The models carrying `key=value`."""
    return {m for m, lab in labels.items() if value in lab.get(key, ())}
