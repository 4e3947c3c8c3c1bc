# Production image: the official Airflow image plus modelwatch and its pinned requirements.
FROM apache/airflow:3.3.2-python3.12

COPY requirements.txt requirements-nodeps.txt /tmp/
RUN pip install --no-cache-dir "apache-airflow==3.3.2" -r /tmp/requirements.txt \
 && pip install --no-cache-dir --no-deps -r /tmp/requirements-nodeps.txt

COPY --chown=airflow:root pyproject.toml README.md /opt/modelwatch/
COPY --chown=airflow:root include /opt/modelwatch/include
RUN pip install --no-cache-dir --no-deps /opt/modelwatch

COPY --chown=airflow:root dags /opt/airflow/dags
COPY --chown=airflow:root plugins /opt/airflow/plugins
COPY --chown=airflow:root config/modelwatch.yaml /opt/airflow/config/modelwatch.yaml

# The LocalExecutor with the task libraries imported before its workers fork
# (docs/operations.md); set AIRFLOW__CORE__EXECUTOR=CeleryExecutor to distribute instead.
ENV MODELWATCH_CONFIG=/opt/airflow/config/modelwatch.yaml \
    MODELWATCH_STAGING_DIR=/opt/airflow/staging \
    AIRFLOW__CORE__EXECUTOR=modelwatch.pipeline.executor.PreloadingLocalExecutor
