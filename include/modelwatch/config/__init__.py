"""Settings, read from one YAML file and validated, so a typo fails loudly at load time.

Every field has a default that suits the demo fleet; a file only says what differs. One module
per section of config/modelwatch.yaml (source, detection, drift, alerts, remediation, overrides)
and `settings` for the whole and its loading; this package re-exports the public names, its API.
"""

from modelwatch.config.alerts import (
    ALERT_LABELS,
    CHANNEL_TYPES,
    AlertRule,
    AlertsConfig,
    ChannelConfig,
    DeliveryConfig,
    FleetIncidentConfig,
    InhibitRule,
    LabelsConfig,
    MaintenanceWindow,
    RouteConfig,
)
from modelwatch.config.detection import DetectionConfig
from modelwatch.config.drift import DriftConfig, PinnedReference
from modelwatch.config.fleetlife import FleetLifeConfig
from modelwatch.config.logs import CHANGE_KINDS, LOG_COLUMNS, HintsConfig, LogsConfig
from modelwatch.config.overrides import (
    MATCH_LABELS,
    Override,
    alerts_for,
    detection_for,
    needs_labels,
    per_model_alerts,
    per_model_detection,
    with_detection_changes,
)
from modelwatch.config.remediation import (
    REMEDIATION_ACTIONS,
    REMEDIATION_TARGETS,
    ApprovalPolicy,
    KubernetesTargetConfig,
    RemediationConfig,
    RestartPolicy,
    RollbackPolicy,
    ScaleDownPolicy,
    ScaleUpPolicy,
    WebhookTargetConfig,
)
from modelwatch.config.settings import (
    CONFIG_ENV,
    ConfigError,
    Settings,
    load_settings,
    settings_dir,
    settings_file,
)
from modelwatch.config.source import SourceConfig, ValidationConfig

__all__ = [
    "ALERT_LABELS",
    "CHANGE_KINDS",
    "CHANNEL_TYPES",
    "CONFIG_ENV",
    "LOG_COLUMNS",
    "MATCH_LABELS",
    "REMEDIATION_ACTIONS",
    "REMEDIATION_TARGETS",
    "AlertRule",
    "AlertsConfig",
    "ApprovalPolicy",
    "ChannelConfig",
    "ConfigError",
    "DeliveryConfig",
    "DetectionConfig",
    "DriftConfig",
    "FleetIncidentConfig",
    "FleetLifeConfig",
    "HintsConfig",
    "InhibitRule",
    "KubernetesTargetConfig",
    "LabelsConfig",
    "LogsConfig",
    "MaintenanceWindow",
    "Override",
    "PinnedReference",
    "RemediationConfig",
    "RestartPolicy",
    "RollbackPolicy",
    "RouteConfig",
    "ScaleDownPolicy",
    "ScaleUpPolicy",
    "Settings",
    "SourceConfig",
    "ValidationConfig",
    "WebhookTargetConfig",
    "alerts_for",
    "detection_for",
    "load_settings",
    "needs_labels",
    "per_model_alerts",
    "per_model_detection",
    "settings_dir",
    "settings_file",
    "with_detection_changes",
]
