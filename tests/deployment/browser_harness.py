"""`airflow standalone` on loopback for the browser test, as `make up` runs it.

One `airflow standalone` process (it starts the api-server, scheduler, dag-processor and
triggerer itself, with the LocalExecutor) on a free port, with this project's DAGs, the plugin
the installed package registers (the `airflow.plugins` entry point, as `make up` has it),
an embedded DuckDB warehouse reached through `AIRFLOW_CONN_MODELWATCH_WAREHOUSE`, and a
PostgreSQL metadata database of its own (SQLite would serialise the components' writes). Built
on `tests.deployment.airflow_harness.AirflowServer` (ports, environment, REST API, readiness by
polling), with a different start and stop: standalone spawns the components, so they share its
process group and are stopped with it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.deployment.airflow_harness import AirflowServer, wait_until

BIN = str(Path(sys.executable).parent)
AIRFLOW = str(Path(BIN) / "airflow")

#: Chromium flags for a machine without network (without them chromium stalls on start).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CHROMIUM = os.environ.get("MODELWATCH_CHROMIUM", "/usr/bin/chromium")


class Standalone(AirflowServer):
    """`airflow standalone` with this project's DAGs, its plugin and a DuckDB warehouse."""

    def __init__(self, home: Path, pg_admin_uri: str, warehouse_uri: str) -> None:
        super().__init__(
            home,
            pg_admin_uri,
            {
                "AIRFLOW_CONN_MODELWATCH_WAREHOUSE": warehouse_uri,
                "MODELWATCH_STAGING_DIR": str(home / "data" / "staging"),
                "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
                # manual runs only: a scheduler catching up on today's hour (the simulated
                # fleet has no data now) would only compete for the warehouse pool's slot
                "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
            },
        )
        # AirflowServer leaves the warehouse connection out of its environment; standalone
        # takes it from there, as `make up` does
        self.env["AIRFLOW_CONN_MODELWATCH_WAREHOUSE"] = warehouse_uri
        self.reports = home / "data" / "reports"

    def start(self) -> Standalone:
        from importlib.metadata import entry_points

        from tests.conftest import _pg_admin

        if "modelwatch" not in {ep.name for ep in entry_points(group="airflow.plugins")}:
            raise RuntimeError(
                "the modelwatch plugin is not installed in this environment (its entry point is "
                "registered by installing the package): run `make venv` or `pip install -e .`"
            )

        with _pg_admin() as con, con.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{self.db_name}"')
        log = (self.home / "standalone.log").open("wb")
        self.procs["standalone"] = subprocess.Popen(
            [AIRFLOW, "standalone"],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the components die with it
        )
        wait_until(self._healthy, 240, "airflow standalone to be healthy")
        return self

    def stop(self) -> None:
        """Terminate the whole group (standalone and the components it started, each of which
        shuts down on SIGTERM), then kill what is left; drop the metadata database."""
        proc = self.procs.get("standalone")
        if proc is not None and proc.poll() is None:
            for sig, grace in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    proc.wait(timeout=grace)
                    break
                except subprocess.TimeoutExpired:
                    continue
        # components that outlived standalone are still in its process group
        if proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        from tests.conftest import _pg_admin

        with _pg_admin() as con, con.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
