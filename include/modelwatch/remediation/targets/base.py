"""The target interface and the connection fields a target is configured from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

DISPATCHED, APPLIED, FAILED = "dispatched", "applied", "failed"


class TargetError(RuntimeError):
    """A target cannot be built (missing or unusable connection)."""


@dataclass(frozen=True)
class Outcome:
    """A target's answer to one request.

    `dispatched`: the target accepted it; `applied`: the target reports the change in place
    (for instance the workload already had the replicas asked for); `failed`: retried by a later
    run unless `permanent` (not found, forbidden, unsupported), where retrying cannot help.
    """

    status: str
    detail: str
    permanent: bool = False


class Target(Protocol):
    """Carries out requests. `apply` must be idempotent per request id: a request may be sent
    again when a run dies between the target's answer and the outbox write."""

    name: str
    actions: frozenset[str]

    def apply(self, request: dict[str, Any]) -> Outcome: ...


@dataclass(frozen=True)
class ConnectionFields:
    """The fields of an Airflow connection a target needs; `password` holds the token."""

    conn_id: str
    conn_type: str = ""
    host: str | None = None
    port: int | None = None
    login: str | None = None
    password: str | None = field(default=None, repr=False)
    schema: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def url(self) -> str:
        """The endpoint as a URL: `extra.url`, else scheme://host[:port][/path] from the fields
        (Airflow's http connections keep the scheme in `schema`)."""
        if self.extra.get("url"):
            return str(self.extra["url"]).rstrip("/")
        if not self.host:
            raise TargetError(f"connection {self.conn_id!r} has no host")
        host = self.host.rstrip("/")
        if "://" not in host:
            scheme = self.schema if self.schema in ("http", "https") else "https"
            host = f"{scheme}://{host}"
        if self.port and host.count(":") < 2:
            scheme, rest = host.split("://", 1)
            netloc, _, path = rest.partition("/")
            host = f"{scheme}://{netloc}:{self.port}" + (f"/{path}" if path else "")
        return host
