# modelwatch: `make demo` runs the pipeline over the simulated incident day, `make test` tests it.
# Choose the interpreter with PYTHON=... (3.11 or newer), e.g. `make test PYTHON=python3.12`.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
ROOT   := $(CURDIR)

# The demo's Airflow home, warehouse and settings; set any of these yourself to override.
export AIRFLOW_HOME                      ?= $(ROOT)/.airflow
export AIRFLOW__CORE__DAGS_FOLDER        ?= $(ROOT)/dags
export AIRFLOW__CORE__LOAD_EXAMPLES      ?= False
export AIRFLOW__CORE__EXECUTOR           ?= modelwatch.airflow.executor.PreloadingLocalExecutor
export AIRFLOW_CONN_MODELWATCH_WAREHOUSE ?= duckdb:///$(ROOT)/.data/warehouse.duckdb
export MODELWATCH_STAGING_DIR            ?= $(ROOT)/.data/staging
export MODELWATCH_CONFIG                 ?= $(ROOT)/config/modelwatch.yaml

.PHONY: help venv services demo up test test-fast test-airflow test-celery test-browser lint format bench bench-scale clean

help:
	@echo "make demo   - seed the demo warehouse and run model_health over the incident day (24 runs)"
	@echo "make up     - start airflow standalone on the demo (UI on http://localhost:8080)"
	@echo "make test   - start the services the tests need (.ci/services.sh) and run the whole suite"
	@echo "make lint   - ruff check"
	@echo "make bench  - print the benchmarks' figures (simulator, detection, NAB folds, PostgreSQL I/O,"
	@echo "              logs, drift, hints, what-if, fleet life; over an hour in all)"
	@echo "make bench-scale - time one hourly run on a real Airflow for 100, 1,000 and 5,000 models"
	@echo "              (SCALE_ARGS=\"--models 20\" for a quick end-to-end check)"
	@echo "make test-browser - the Model health view in Debian's chromium (also part of make test)"
	@echo "make clean  - remove the venv, the Airflow home and the demo data"

# The venv is rebuilt when the pins change; the stamp marks a finished install.
$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	@$(PYTHON) -c 'import sys; v = sys.version_info; sys.exit(0 if v >= (3, 11) else "modelwatch needs Python 3.11 or newer, got %d.%d (set PYTHON=...)" % v[:2])'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	$(BIN)/python -m pip install -q -e .
	touch $@

venv: $(VENV)/.installed

demo: venv
	$(BIN)/modelwatch demo

up: venv
	$(BIN)/modelwatch demo --hours 0
	@echo "Airflow UI: http://localhost:8080  (user admin; password in $(AIRFLOW_HOME)/simple_auth_manager_passwords.json.generated)"
	PATH="$(ROOT)/$(BIN):$$PATH" AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=admin:admin $(BIN)/airflow standalone

# PostgreSQL, Redis, Alertmanager, Prometheus (promtool), the Pushgateway and chromium: installed
# and started when missing, never skipped.
services:
	bash .ci/services.sh

test: venv services
	$(BIN)/python -m pytest

test-fast: venv services
	$(BIN)/python -m pytest tests/unit tests/integration

test-airflow: venv services
	$(BIN)/python -m pytest -m airflow_server

test-celery: venv services
	$(BIN)/python -m pytest -m celery

test-browser: venv services
	$(BIN)/python -m pytest -m browser

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Every benchmark at its documented defaults (docs/benchmarks.md), the fast ones first; the
# replays (drift, hints, what-if, fleet life) take tens of minutes each on 2 cores.
bench: venv services
	$(BIN)/python bench/bench_simulate.py
	$(BIN)/python bench/bench_detect.py
	$(BIN)/python bench/bench_nab.py --jobs 2
	$(BIN)/python bench/bench_postgres.py
	$(BIN)/python bench/bench_logs.py
	$(BIN)/python bench/bench_drift.py
	$(BIN)/python bench/bench_hints.py
	$(BIN)/python bench/bench_whatif.py
	$(BIN)/python bench/bench_fleet_life.py

# e.g. make bench-scale SCALE_ARGS="--models 20" for a quick end-to-end check
bench-scale: venv services
	$(BIN)/python bench/bench_scale.py $(SCALE_ARGS)

clean:
	rm -rf $(VENV) .airflow .data .artifacts .pytest_cache .ruff_cache include/*.egg-info
