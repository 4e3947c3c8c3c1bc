"""modelwatch: hourly health checks for a fleet of deployed ML models, on Apache Airflow 3."""

__version__ = "0.1.0"
