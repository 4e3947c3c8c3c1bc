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

    source: Literal["none", "warehouse", "jsonl", "elasticsearch", "opensearch"] = "warehouse"
    table: str = "model_logs"
    #: Our column name -> the source's, for the ones that differ (as `source.columns`).
    columns: dict[str, str] = Field(default_factory=dict)
    #: JSON-lines files: a glob; `{date}` is replaced by the hour's YYYY-MM-DD.
    path: str | None = None
    #: Elasticsearch/OpenSearch: the Airflow connection and the index (pattern) to search.
    conn_id: str = "modelwatch_logs"
    index: str = "model-logs-*"
    page_size: int = Field(5000, ge=1, le=10000)
    #: Days of logs before a day that its templates are learned from and that count as usual.
    baseline_days: int = Field(7, ge=1, le=60)
    #: Longer messages have their tail cut at the input edge (counted as `truncated`).
    max_message_chars: int = Field(8192, ge=64, le=1_000_000)
    #: Templates per day (and new signatures per model and hour) at most; the lines beyond it
    #: count as one "other" signature. Far above one real system's day (docs/hints.md).
    max_templates: int = Field(2000, ge=1)
    #: Deprecated, ignored: settings of the Drain miner this project no longer uses. Still
    #: accepted so that existing config files load (a warning says they do nothing).
    drain_sim_th: float | None = Field(None, gt=0.0, le=1.0, deprecated="ignored: no Drain")
    drain_depth: int | None = Field(None, ge=3, le=10, deprecated="ignored: no Drain")

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

    enabled: bool = True
    #: Declared changes: change_id, ts, model_id or selector (`label=value`, `*`), kind, detail,
    #: actor.
    changes_table: str = "model_changes"
    #: Labels in long form: model_id, label, value (one row per dependency for `upstream`).
    labels_table: str | None = "model_labels"
    #: Labels from the config: model id -> label -> value or list of values.
    labels: dict[str, dict[str, str | list[str]]] = Field(default_factory=dict)
    #: How far before the anomaly began a change still counts, in hours.
    change_window_hours: int = Field(6, ge=1, le=72)
    #: Labels whose models can share a cause, and how much a shared value weighs.
    shared_labels: dict[str, float] = Field(
        default_factory=lambda: {
            "upstream": 1.0,
            "node_pool": 0.8,
            "cluster": 0.5,
            "team": 0.4,
        }
    )
    #: At least this many anomalous models behind one value make a shared cause.
    shared_min_models: int = Field(2, ge=2)
    #: A signature surges when its count is at least `surge_ratio` x its usual count for the hour
    #: of day and `surge_sigmas` Poisson standard deviations above it, and at least `min_count`.
    surge_ratio: float = Field(3.0, ge=1.0)
    surge_sigmas: float = Field(4.0, ge=0.0)
    min_count: int = Field(5, ge=1)
    #: Hints kept per alert (the messages show the first 3).
    max_hints: int = Field(5, ge=1, le=20)

    @field_validator("changes_table", "labels_table")
    @classmethod
    def _tables(cls, v: str | None) -> str | None:
        return _ident(v)
