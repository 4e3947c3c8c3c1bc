"""Open the metrics source a run reads: a SQL table (in the warehouse or elsewhere) or Prometheus.

The one place that picks a `MetricsSource` implementation for a `SourceSpec` (`Run.source`):
every step, the training, the replay, the CLI and the view open their source here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from modelwatch.config import Settings
from modelwatch.ingest.source import MetricsSource
from modelwatch.warehouse import Warehouse, open_warehouse
from modelwatch.warehouse.source_spec import SourceSpec


@contextmanager
def open_source(
    spec: SourceSpec, settings: Settings, wh: Warehouse | None = None
) -> Iterator[MetricsSource]:
    """The source a run reads (`Run.source`), open for the `with` block.

    A `sql` source that is the warehouse itself is read through the warehouse's backend (`wh`,
    when the caller holds it open already: no second connection); any other SQL connection
    through its Airflow hook (`sql_engine.py`); Prometheus over HTTP (`prometheus.py`)."""
    cfg = settings.source
    source: MetricsSource
    if spec.kind == "prometheus":
        from modelwatch.ingest.prometheus import PrometheusSource

        source = PrometheusSource(cfg, spec)
    elif spec.native:
        from modelwatch.ingest.sql_readers import WarehouseReader
        from modelwatch.ingest.sql_source import SqlSource

        if wh is not None:
            reader = WarehouseReader(wh, spec.describe(), owns=False)
        else:
            reader = WarehouseReader(open_warehouse(spec.connection), spec.describe())
        source = SqlSource(cfg, reader)
    else:
        from modelwatch.ingest.sql_engine import hook_reader
        from modelwatch.ingest.sql_source import SqlSource

        source = SqlSource(cfg, hook_reader(spec))
    with source:
        yield source
