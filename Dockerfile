# Production image: the official Airflow image plus modelwatch and its pinned requirements.
FROM apache/airflow:3.3.2-python3.12

# isotree has no wheel for this Python on the package index: pip builds it, which needs a compiler.
USER root
RUN apt-get update && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
USER airflow

COPY requirements.txt /tmp/
RUN pip install --no-cache-dir "apache-airflow==3.3.2" -r /tmp/requirements.txt

COPY --chown=airflow:root pyproject.toml README.md /opt/modelwatch/
COPY --chown=airflow:root include /opt/modelwatch/include
RUN pip install --no-cache-dir /opt/modelwatch

COPY --chown=airflow:root dags /opt/airflow/dags
COPY --chown=airflow:root plugins /opt/airflow/plugins
COPY --chown=airflow:root config/modelwatch.yaml /opt/airflow/config/modelwatch.yaml

# The LocalExecutor with the task libraries imported before its workers fork
# (docs/operations.md); set AIRFLOW__CORE__EXECUTOR=CeleryExecutor to distribute instead.
ENV MODELWATCH_CONFIG=/opt/airflow/config/modelwatch.yaml \
    MODELWATCH_STAGING_DIR=/opt/airflow/staging \
    AIRFLOW__CORE__EXECUTOR=modelwatch.airflow.executor.PreloadingLocalExecutor
