"""The `logs` and `hints` sections: where model logs and change events come from, how log
signatures are mined, and how troubleshooting hints are found and ranked (docs/hints.md)."""

from __future__ import annotations

import logging
import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from modelwatch.config.base import IDENTIFIER, StrictModel

#: Our log columns; `logger` and `trace_id` are optional.
LOG_COLUMNS = ("ts", "model_id", "level", "message", "logger", "trace_id")
#: A column or document field name (`@timestamp`, `log.level` in Elasticsearch).
FIELD = re.compile(r"^[A-Za-z_@][\w.@-]{0,127}\Z")
#: Kinds of declared changes (`model_changes.kind`).
CHANGE_KINDS = ("deploy", "config", "infra", "feature_pipeline", "data", "scaling")


def _ident(v: str | None) -> str | None:
    if v is not None and not IDENTIFIER.match(v):
        raise ValueError(f"{v!r} is not a plain [schema.]table identifier")
    return v


class LogsConfig(StrictModel):
    """Model logs: optional. `source: none` (or a missing table) turns log mining off."""

    source: Literal["none", "warehouse", "jsonl", "elasticsearch", "opensearch"] = Field(
        "warehouse",
        description="Where model logs are read from: `warehouse` (`table`), `jsonl` (files "
        "`path`), `elasticsearch` or `opensearch` (`conn_id`, `index`), or `none` (no log "
        "mining; a missing table is the same).",
    )
    table: str = Field(
        "model_logs", description="`warehouse`: the table (`[schema.]table`) of log lines."
    )
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="Our column name -> the source's, for the ones that differ (as "
        '`source.columns`), e.g. `{ts: "@timestamp", message: msg}`.',
    )
    path: str | None = Field(
        None,
        description="`jsonl`: a glob of JSON-lines files; `{date}` is replaced by the hour's "
        "YYYY-MM-DD.",
    )
    conn_id: str = Field(
        "modelwatch_logs",
        description="`elasticsearch`/`opensearch`: the Airflow connection of the cluster.",
    )
    index: str = Field(
        "model-logs-*",
        description="`elasticsearch`/`opensearch`: the index (pattern) to search.",
    )
    page_size: int = Field(
        5000,
        ge=1,
        le=10000,
        description="`elasticsearch`/`opensearch`: hits per search request.",
    )
    baseline_days: int = Field(
        7,
        ge=1,
        le=60,
        description="Days of logs before a day that its templates are learned from and that "
        "count as usual.",
    )
    max_message_chars: int = Field(
        8192,
        ge=64,
        le=1_000_000,
        description="Longer messages have their tail cut at the input edge (counted as "
        "`truncated`).",
    )
    max_templates: int = Field(
        2000,
        ge=1,
        description="Templates per day (and new signatures per model and hour) at most; the "
        "lines beyond it count as one `other` signature. Far above one real system's day.",
    )
    # Still accepted so that existing config files load (a warning says they do nothing).
    drain_sim_th: float | None = Field(
        None,
        gt=0.0,
        le=1.0,
        deprecated="ignored: no Drain",
        description="Deprecated, ignored: a setting of the Drain miner this project no "
        "longer uses.",
    )
    drain_depth: int | None = Field(
        None,
        ge=3,
        le=10,
        deprecated="ignored: no Drain",
        description="Deprecated, ignored: a setting of the Drain miner this project no "
        "longer uses.",
    )

    @field_validator("table")
    @classmethod
    def _table(cls, v: str) -> str:
        return _ident(v) or v

    @model_validator(mode="after")
    def _deprecated(self) -> LogsConfig:
        for key in ("drain_sim_th", "drain_depth"):
            if key in self.model_fields_set:
                logging.getLogger(__name__).warning(
                    "logs.%s is deprecated and ignored: the miner is no longer Drain "
                    "(docs/hints.md); remove it from the config",
                    key,
                )
        return self

    @field_validator("columns")
    @classmethod
    def _columns(cls, v: dict[str, str]) -> dict[str, str]:
        for ours, theirs in v.items():
            if ours not in LOG_COLUMNS:
                raise ValueError(f"logs.columns maps unknown column {ours!r}")
            if not FIELD.match(theirs):  # a warehouse table also needs an SQL identifier
                raise ValueError(f"logs.columns.{ours} = {theirs!r} is not a field name")
        return v

    def column(self, ours: str) -> str:
        return self.columns.get(ours, ours)


class HintsConfig(StrictModel):
    """How hints are found and ranked; every input is optional."""

    enabled: bool = Field(
        True, description="Attach troubleshooting hints to alerts (every input is optional)."
    )
    changes_table: str = Field(
        "model_changes",
        description="The table of declared changes: change_id, ts, model_id or selector "
        "(`label=value`, `*`), kind, detail, actor.",
    )
    labels_table: str | None = Field(
        "model_labels",
        description="Labels in long form: model_id, label, value (one row per dependency for "
        "`upstream`); null: none.",
    )
    labels: dict[str, dict[str, str | list[str]]] = Field(
        default_factory=dict,
        description="Labels from the config: model id -> label -> value or list of values.",
    )
    change_window_hours: int = Field(
        6,
        ge=1,
        le=72,
        description="How far before the anomaly began a change still counts, in hours.",
    )
    shared_labels: dict[str, float] = Field(
        default_factory=lambda: {
            "upstream": 1.0,
            "node_pool": 0.8,
            "cluster": 0.5,
            "team": 0.4,
        },
        description="Labels whose models can share a cause -> how much a shared value weighs.",
    )
    shared_min_models: int = Field(
        2,
        ge=2,
        description="At least this many anomalous models behind one label value make a shared "
        "cause.",
    )
    surge_ratio: float = Field(
        3.0,
        ge=1.0,
        description="A log signature surges when its count is at least this many times its "
        "usual count for the hour of day (and `surge_sigmas` above it, and `min_count`).",
    )
    surge_sigmas: float = Field(
        4.0,
        ge=0.0,
        description="... and at least this many Poisson standard deviations above its usual count.",
    )
    min_count: int = Field(5, ge=1, description="... and at least this many lines in the hour.")
    max_hints: int = Field(
        5,
        ge=1,
        le=20,
        description="Hints kept per alert (the messages show the first 3).",
    )

    @field_validator("changes_table", "labels_table")
    @classmethod
    def _tables(cls, v: str | None) -> str | None:
        return _ident(v)
