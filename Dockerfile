# Production image: the official Airflow image plus the modelwatch package, built as a wheel.
# Installing the package registers the Model health plugin and the duckdb connection type;
# `modelwatch init` writes its DAG files and a commented settings file into the Airflow home.
# docker-compose.yaml runs every Airflow component from this image (docs/operations.md).

# --- the wheel (the sdist's files: pyproject.toml, README.md, the library, the DAG files) ---
FROM apache/airflow:3.3.2-python3.12 AS wheel
COPY --chown=airflow:root pyproject.toml README.md /tmp/src/
COPY --chown=airflow:root include /tmp/src/include
COPY --chown=airflow:root dags /tmp/src/dags
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /tmp/dist /tmp/src

# --- the image ---
FROM apache/airflow:3.3.2-python3.12

# The lock first (this layer changes only with the pins), then the package, held to the lock.
COPY requirements.txt /tmp/requirements.txt
RUN pip install --no-cache-dir "apache-airflow==3.3.2" -r /tmp/requirements.txt
COPY --from=wheel /tmp/dist /tmp/dist
RUN pip install --no-cache-dir -c /tmp/requirements.txt /tmp/dist/modelwatch-*.whl \
 && modelwatch -q init /opt/airflow \
 && mkdir -p /opt/airflow/staging

# The LocalExecutor with the task libraries imported before its workers fork
# (docs/operations.md); docker-compose.yaml sets the CeleryExecutor instead.
ENV MODELWATCH_CONFIG=/opt/airflow/modelwatch.yaml \
    MODELWATCH_STAGING_DIR=/opt/airflow/staging \
    AIRFLOW__CORE__EXECUTOR=modelwatch.airflow.executor.PreloadingLocalExecutor
