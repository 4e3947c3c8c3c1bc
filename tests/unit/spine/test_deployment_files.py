"""The Dockerfile and docker-compose.yaml say what the code and the docs say.

No Docker engine runs where the suite runs, so the deployment is never started here; what can
be checked without one is: the compose file parses and has every component; it names only
files of the repository, images it builds from the Dockerfile, and official images; the
executor and Celery settings it and the Dockerfile set are importable objects of the package;
every variable it sets is documented in docs/operations.md; every `modelwatch.` path the
docs name exists; the image's Airflow is the locked one.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())
SERVICES = COMPOSE["services"]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
OPERATIONS = (ROOT / "docs" / "operations.md").read_text()
#: The Airflow components and the command each runs (the image's entrypoint adds `airflow`).
COMPONENTS = {
    "airflow-apiserver": ["api-server"],
    "airflow-scheduler": ["scheduler"],
    "airflow-dag-processor": ["dag-processor"],
    "airflow-triggerer": ["triggerer"],
    "airflow-worker": ["celery", "worker"],
}


FILE_SUFFIXES = {"yaml", "yml", "md", "py", "toml", "whl", "duckdb"}


def import_path(path: str) -> object:
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def test_every_component_is_there_with_its_command():
    for name, command in COMPONENTS.items():
        assert SERVICES[name]["command"] == command, name
    assert {"postgres", "redis", "airflow-init"} <= set(SERVICES)
    assert SERVICES["airflow-worker"]["deploy"]["replicas"] >= 2
    assert "modelwatch init /opt/airflow" in " ".join(SERVICES["airflow-init"]["command"])
    for name, service in SERVICES.items():
        assert set(service.get("depends_on") or {}) <= set(SERVICES), name


def test_only_repository_files_built_images_and_official_images():
    for name, service in SERVICES.items():
        if "build" in service:
            assert (ROOT / service["build"] / "Dockerfile").is_file(), name
            continue
        repository = service["image"].split(":")[0]
        assert "/" not in repository, f"{name}: {service['image']} is not an official image"
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).is_file(), f"{name} mounts {source}, not in the repo"
            else:
                assert source in COMPOSE["volumes"], f"{name}: undeclared volume {source}"


def test_the_dockerfile_copies_repository_files_and_installs_the_locked_airflow():
    for line in re.findall(r"^COPY (?!--from)(?:--\S+ )*(.+)$", DOCKERFILE, re.MULTILINE):
        for source in line.split()[:-1]:
            assert (ROOT / source).exists(), f"Dockerfile copies {source}, not in the repo"
    pinned = re.search(r"^apache-airflow==(\S+)$", (ROOT / "requirements.txt").read_text(), re.M)
    assert pinned is not None
    bases = set(re.findall(r"^FROM apache/airflow:([\d.]+)-python", DOCKERFILE, re.MULTILINE))
    assert bases == {pinned.group(1)}


def test_the_executor_and_celery_settings_are_the_packages_objects():
    from airflow.executors.base_executor import BaseExecutor

    env = SERVICES["airflow-worker"]["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    celery = import_path(env["AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS"])
    assert isinstance(celery, dict) and "broker_url" in celery
    (executor,) = re.findall(r"AIRFLOW__CORE__EXECUTOR=(\S+)", DOCKERFILE)
    assert issubclass(import_path(executor), BaseExecutor)


def test_every_variable_the_deployment_sets_is_documented():
    section = OPERATIONS[OPERATIONS.index("### docker compose") :]
    env = SERVICES["airflow-scheduler"]["environment"]
    missing = [key for key in env if f"`{key}`" not in section]
    assert not missing, f"docs/operations.md#docker-compose does not document {missing}"
    for key in ("AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS", "AIRFLOW__CORE__EXECUTOR"):
        assert f"`{env[key]}`" in section, f"the docs give {key} another value"


@pytest.mark.parametrize("doc", ["docs/operations.md", "Dockerfile", "docker-compose.yaml"])
def test_every_modelwatch_path_named_exists(doc):
    text = (ROOT / doc).read_text()
    for path in set(re.findall(r"(?<![\w/.-])modelwatch(?:\.[A-Za-z_]\w*)+", text)):
        if path.rpartition(".")[2] in FILE_SUFFIXES:  # a file name (modelwatch.yaml)
            continue
        try:
            importlib.import_module(path)
        except ImportError:
            import_path(path)  # an attribute of a module: fails with the path it lacks
