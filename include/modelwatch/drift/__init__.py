"""Prediction drift: each hour's predictions (and declared features) tested against a
reference with PSI, KS and Wasserstein (classifiers: PSI and Cramer's V), thresholds on effect
sizes, results in `mw_drift`. Stage order: after detection, before hints and alerting."""

from modelwatch.drift.findings import drift_findings

__all__ = ["drift_findings"]
