"""A real Airflow 3 deployment on loopback, for tests that drive it as users do.

Starts the api-server, scheduler, dag-processor and triggerer as separate processes with a
PostgreSQL metadata database of their own, and either the LocalExecutor or the CeleryExecutor
with Celery workers of its own (Redis as the broker, the metadata database as the result
backend, a queue no other deployment uses). Talks to them only through the `airflow` CLI and the
REST API v2. Everything it starts it stops, and the databases it creates it drops.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
AIRFLOW = str(Path(sys.executable).with_name("airflow"))
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check: Callable[[], Any], timeout: float, what: str, every: float = 0.5) -> Any:
    """Poll `check` until it returns something truthy; fail with `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except (httpx.HTTPError, OSError) as exc:
            last = exc
        if last and not isinstance(last, Exception):
            return last
        time.sleep(every)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


class AirflowServer:
    """One Airflow deployment: its home, its metadata database, its processes."""

    def __init__(
        self,
        home: Path,
        pg_admin_uri: str,
        extra_env: dict[str, str],
        celery_workers: int = 0,
        broker_url: str = "redis://127.0.0.1:6379/0",
    ) -> None:
        self.home = home
        self.celery_workers = celery_workers
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.password = secrets.token_urlsafe(12)
        self.db_name = f"mw_airflow_{uuid.uuid4().hex[:8]}"
        server = pg_admin_uri.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg2://")
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self._pg_admin_uri = pg_admin_uri
        (home / "logs").mkdir(parents=True, exist_ok=True)
        pw_file = home / "passwords.json"
        pw_file.write_text(json.dumps({"admin": self.password}))
        self.env = {
            **os.environ,
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__EXECUTOR": "modelwatch.airflow.executor.PreloadingLocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base_url}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(pw_file),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"{server}/{self.db_name}",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__SECRET_KEY": secrets.token_hex(16),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            # The scheduler sleeps this long after a loop with nothing to do, which is every
            # loop while a task runs: the default 1 s put up to a second between each of a
            # run's ~10 sequential tasks (a quiet 19.3 s run took 16.1 s at 0.25 s).
            "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.25",
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            **extra_env,
        }
        if celery_workers:
            self.queue = f"mw-{uuid.uuid4().hex[:8]}"  # no other deployment's tasks land here
            self.env.update(
                {
                    "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
                    # production's: the task libraries imported before each pool forks
                    "AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS": (
                        "modelwatch.airflow.celery_config.CELERY_CONFIG"
                    ),
                    "AIRFLOW__CELERY__BROKER_URL": broker_url,
                    "AIRFLOW__CELERY__RESULT_BACKEND": "db+"
                    + self.env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].replace("+psycopg2", ""),
                    "AIRFLOW__OPERATORS__DEFAULT_QUEUE": self.queue,
                    "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
                    "AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER": "1",
                }
            )
        for key in ("AIRFLOW__CORE__UNIT_TEST_MODE", "AIRFLOW_CONN_MODELWATCH_WAREHOUSE"):
            self.env.pop(key, None)
        self._token: str | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def cli(self, *args: str, timeout: float = 300) -> str:
        """Run `airflow ARGS` against this deployment; fail with its output if it fails."""
        done = subprocess.run(
            [AIRFLOW, *args], env=self.env, capture_output=True, text=True, timeout=timeout
        )
        if done.returncode:
            raise RuntimeError(f"airflow {' '.join(args)} failed:\n{done.stderr[-3000:]}")
        return done.stdout

    def start(self) -> AirflowServer:
        from tests.conftest import _pg_admin

        with _pg_admin() as con, con.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{self.db_name}"')
        self.cli("db", "migrate")
        commands = {name: [name] for name in COMPONENTS}
        for i in range(1, self.celery_workers + 1):
            # two workers on one machine: distinct node names, and no log server each (the
            # api-server reads the task logs from the shared log folder)
            commands[f"celery-worker-{i}"] = [
                *("celery", "worker", "--celery-hostname", f"{self.queue}-w{i}@%h"),
                *("--queues", self.queue, "--skip-serve-logs", "--without-gossip"),
            ]
        for name, args in commands.items():
            log = (self.home / f"{name}.log").open("wb")
            self.procs[name] = subprocess.Popen(
                [AIRFLOW, *args],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until(self._healthy, 180, "the api-server, scheduler and dag-processor to be healthy")
        for i in range(1, self.celery_workers + 1):
            wait_until(
                lambda i=i: " ready." in self.log_tail(f"celery-worker-{i}", 100_000),
                120,
                f"Celery worker {i} to be ready",
            )
        return self

    def worker_tasks(self) -> dict[str, int]:
        """How many task workloads each Celery worker has received (from its own log)."""
        return {
            name: self.log_tail(name, 10_000_000).count("execute_workload[")
            for name in self.procs
            if name.startswith("celery-worker-")
        }

    def _healthy(self) -> bool:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}:\n{self.log_tail(name)}")
        r = httpx.get(f"{self.base_url}/api/v2/monitor/health", timeout=5)
        if r.status_code != 200:
            return False
        body = r.json()
        return all(
            (body.get(part) or {}).get("status") == "healthy"
            for part in ("metadatabase", "scheduler", "dag_processor", "triggerer")
        )

    def log_tail(self, name: str, n: int = 4000) -> str:
        path = self.home / f"{name}.log"
        return path.read_text(errors="replace")[-n:] if path.exists() else ""

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        from tests.conftest import _pg_admin

        with _pg_admin() as con, con.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')

    # -- REST API v2 -------------------------------------------------------------------------
    def token(self) -> str:
        if self._token is None:
            r = httpx.post(
                f"{self.base_url}/auth/token",
                json={"username": "admin", "password": self.password},
                timeout=30,
            )
            r.raise_for_status()
            self._token = r.json()["access_token"]
        return self._token

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        r = httpx.request(
            method,
            f"{self.base_url}/api/v2{path}",
            headers={"Authorization": f"Bearer {self.token()}"},
            timeout=60,
            **kwargs,
        )
        if r.status_code >= 400:
            raise AssertionError(f"{method} {path} -> {r.status_code}: {r.text[:2000]}")
        return r.json() if r.content else None

    def wait_for_dag(self, dag_id: str, timeout: float = 120) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            r = httpx.get(
                f"{self.base_url}/api/v2/dags/{dag_id}",
                headers={"Authorization": f"Bearer {self.token()}"},
                timeout=10,
            )
            return r.json() if r.status_code == 200 else None

        return wait_until(found, timeout, f"the dag-processor to register {dag_id}")

    def runs(self, dag_id: str, **params: Any) -> list[dict[str, Any]]:
        return self.api("GET", f"/dags/{dag_id}/dagRuns", params={"limit": 100, **params})[
            "dag_runs"
        ]

    def wait_for_run(
        self, dag_id: str, run_id: str, timeout: float = 300, states: tuple[str, ...] = ("success",)
    ) -> dict[str, Any]:
        """Poll a run until it ends; fail if it ends in a state not in `states`."""

        def ended() -> dict[str, Any] | None:
            run = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}")
            return run if run["state"] in ("success", "failed") else None

        run = wait_until(ended, timeout, f"run {run_id} to finish", every=1.0)
        if run["state"] not in states:
            tis = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")
            bad = [(t["task_id"], t["state"]) for t in tis["task_instances"]]
            raise AssertionError(f"run {run_id} ended {run['state']}: {bad}")
        return run

    def task_state(self, dag_id: str, run_id: str, task_id: str) -> str | None:
        return self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}")["state"]
