"""The warehouse pool: the Airflow pool every task that opens the warehouse runs in.

Why a pool: DuckDB lets one process write a file at a time, so the DAGs' warehouse tasks share
`modelwatch_warehouse` (1 slot for DuckDB, a few for PostgreSQL). Why create it: the scheduler
never queues a task whose pool does not exist ("Tasks using non-existent pool ... will not be
scheduled"), so without it a run stops after `resolve`, which runs in `default_pool`.

Two ways it is created when missing, never changed when it exists (an operator's slots stay):
- `modelwatch init`, from an operator's shell where the metadata database is configured:
  the ORM (`ensure_in_metadata`), run as `python -m modelwatch.airflow.pool` with the home's
  AIRFLOW_HOME.
- the DAG's `resolve` task (`ensure_from_task`). An Airflow 3 task cannot reach the metadata
  database: its ORM access raises, its token is only good for the Task Execution API, and that
  API has no pools. So the task asks the public REST API (`GET`, then `POST /api/v2/pools`),
  signing in with the credentials of the connection `modelwatch_airflow_api` (host and port of
  the API server, login and password of a user allowed to edit pools). Without that connection
  the task logs how to create the pool and goes on: no credentials are made up.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from urllib.parse import quote

log = logging.getLogger(__name__)

#: The pool's name; the DAG files read the same variable.
POOL_ENV, DEFAULT_POOL = "MODELWATCH_WAREHOUSE_POOL", "modelwatch_warehouse"
#: The connection holding the REST API's address and a user's credentials, for the task.
API_CONN_ID = "modelwatch_airflow_api"
DESCRIPTION = "modelwatch: tasks that open the warehouse (DuckDB: one writer at a time)"
#: `python -m modelwatch.airflow.pool` exit status when no metadata database is configured.
NO_METADATA = 3


def pool_name() -> str:
    return os.environ.get(POOL_ENV) or DEFAULT_POOL


def default_slots(conn_type: str) -> int:
    """1 for DuckDB (one writer per file); 4 for a server that takes parallel writers."""
    return 1 if conn_type.lower() == "duckdb" else 4


def slots_text(slots: object) -> str:
    return f"{slots} slot" + ("" if slots == 1 else "s")


def how_to_create(name: str, slots: int) -> str:
    return f"airflow pools set {name} {slots} 'modelwatch warehouse'"


# ------------------------------------------------------------------- from an operator's shell
def metadata_database() -> str | None:
    """Airflow's metadata database URL when one is configured: set explicitly, or a SQLite
    file that exists (Airflow's default points at one that may never have been created)."""
    from airflow.configuration import conf

    url = conf.get("database", "sql_alchemy_conn", fallback="") or ""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1].split("?", 1)[0]
        return url if path and Path(path).is_file() else None
    return url or None


def ensure_in_metadata(name: str, slots: int) -> str:
    """Create pool `name` in the configured metadata database unless it exists; what was
    done, as one line. Only for Airflow's trusted side (a CLI), never from a task."""
    from airflow.models.pool import Pool
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        found = session.scalar(select(Pool).where(Pool.pool == name))
        if found is not None:
            return f"pool {name} exists ({slots_text(found.slots)}): kept"
    Pool.create_or_update_pool(name, slots, DESCRIPTION, include_deferred=False)
    return f"pool {name} created ({slots_text(slots)})"


def main(argv: list[str] | None = None) -> int:
    """`python -m modelwatch.airflow.pool NAME SLOTS`: `ensure_in_metadata` in the metadata
    database of this process's AIRFLOW_HOME (`modelwatch init` runs it with the home's)."""
    name, slots = argv if argv is not None else sys.argv[1:]
    if metadata_database() is None:
        print("no Airflow metadata database configured")
        return NO_METADATA
    try:
        print(ensure_in_metadata(name, int(slots)))
    except Exception as exc:  # not migrated, unreachable: one line, the caller reports it
        print(" ".join(str(exc).split())[:300])
        return 1
    return 0


# ------------------------------------------------------------------------------ from a task
def ensure_from_task(conn_type: str) -> str:
    """The resolve task's check: create the pool through the REST API when it is missing.
    Never raises: a run whose pool exists must not fail because the API did not answer; a
    missing pool it could not create is logged with the command that creates it."""
    from modelwatch.connections import get_connection

    name, slots = pool_name(), default_slots(conn_type)
    conn = get_connection(API_CONN_ID, required=False)
    if conn is None:
        log.info(
            "pool %s is not checked from tasks (no connection %s); if it is missing, nothing "
            "after resolve runs: modelwatch init, or %s",
            name,
            API_CONN_ID,
            how_to_create(name, slots),
        )
        return "not checked"
    try:
        done = ensure_through_api(conn, name, slots)
    except Exception as exc:  # an unreachable API, refused credentials: the pool may exist
        log.warning(
            "could not check pool %s through the REST API (%s); if it is missing: %s",
            name,
            " ".join(str(exc).split())[:200],
            how_to_create(name, slots),
        )
        return "failed"
    log.info("pool %s: %s", name, done)
    return done


def ensure_through_api(conn: object, name: str, slots: int, timeout_s: float = 10.0) -> str:
    """`GET /api/v2/pools/NAME`; on 404 `POST /api/v2/pools`, a token from `POST /auth/token`
    first (the auth managers' documented way to sign in with a username and password)."""
    import httpx

    from modelwatch.alerting.channels.probe import http_base

    login = getattr(conn, "login", None)
    with httpx.Client(base_url=http_base(conn).rstrip("/"), timeout=timeout_s) as client:
        got = client.post(
            "/auth/token",
            json={"username": login, "password": getattr(conn, "password", None)},
        )
        got.raise_for_status()
        client.headers["Authorization"] = f"Bearer {got.json()['access_token']}"
        found = client.get(f"/api/v2/pools/{quote(name, safe='')}")
        if found.status_code == 200:
            return f"exists ({slots_text(found.json().get('slots'))})"
        if found.status_code != 404:
            found.raise_for_status()
        body = {"name": name, "slots": slots, "description": DESCRIPTION}
        made = client.post("/api/v2/pools", json={**body, "include_deferred": False})
        if made.status_code == 409:  # another run's resolve created it meanwhile
            return "exists (created meanwhile)"
        made.raise_for_status()
        return f"created ({slots_text(slots)})"


if __name__ == "__main__":
    sys.exit(main())
