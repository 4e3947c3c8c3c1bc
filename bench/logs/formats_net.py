# ruff: noqa: E501 - one statement per line reads best, however long its format
"""Invented logging statements of network-facing systems: a web server (access and error log),
a cloud controller (API, scheduler, orchestrator) and forward/reverse proxies.

Each entry is (statement name, weight, level, function of the pools -> message). The statements
were written for this corpus; a line's label is the name of the statement that wrote it.
"""

from __future__ import annotations

from pools import APPS, Pools

METHODS = ("GET", "GET", "GET", "POST", "PUT", "DELETE", "HEAD")
AGENTS = (
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
    "curl/8.5.0",
    "kube-probe/1.29",
    "python-requests/2.32.3",
    "Googlebot/2.1 (+http://www.google.com/bot.html)",
    "-",
)
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def clf_time(p: Pools) -> str:
    g = p.g
    return f"{g.randrange(1, 29):02d}/{g.choice(MONTHS)}/2026:{g.randrange(24):02d}:{g.randrange(60):02d}:{g.randrange(60):02d} +0000"


def request(p: Pools) -> str:
    return f"{p.pick(METHODS)} {p.url_path()} HTTP/{p.pick(('1.1', '2.0', '1.0'))}"


WEB = [
    (
        "access",
        60,
        "INFO",
        lambda p: (
            f'{p.ip()} - {p.user() if p.g.random() < 0.2 else "-"} [{clf_time(p)}] "{request(p)}" {p.pick((200, 304, 404, 301, 500, 403))} {p.num(1, 90000) if p.g.random() < 0.9 else "-"} "{p.pick(("-", "https://" + p.host() + "/"))}" "{p.pick(AGENTS)}"'
        ),
    ),
    (
        "upstream_timeout",
        6,
        "ERROR",
        lambda p: (
            f'upstream timed out (110: Connection timed out) while reading response header from upstream, client: {p.ip()}, server: {p.host()}, request: "{request(p)}", upstream: "http://{p.ip()}:{p.port()}{p.url_path()}", host: "{p.host()}"'
        ),
    ),
    (
        "open_failed",
        5,
        "ERROR",
        lambda p: (
            f'open() "{p.path()}" failed (2: No such file or directory), client: {p.ip()}, server: {p.host()}, request: "{request(p)}"'
        ),
    ),
    ("keepalive_closed", 5, "INFO", lambda p: f"client {p.ip()} closed keepalive connection"),
    ("worker_started", 3, "NOTICE", lambda p: f"start worker process {p.num(100, 60000)}"),
    ("reload_signal", 1, "NOTICE", lambda p: "signal process started"),
    ("graceful", 1, "NOTICE", lambda p: "gracefully shutting down"),
    (
        "limit_req",
        4,
        "WARN",
        lambda p: (
            f'limiting requests, excess: {p.g.random() * 20:.3f} by zone "{p.pick(("perip", "api", "login"))}", client: {p.ip()}, server: {p.host()}, request: "{request(p)}"'
        ),
    ),
    (
        "ssl_handshake",
        3,
        "WARN",
        lambda p: (
            f"SSL_do_handshake() failed (SSL: error:0A{p.hexs(6)}:SSL routines::{p.pick(('wrong version number', 'unsupported protocol', 'no shared cipher', 'http request'))}) while SSL handshaking, client: {p.ip()}, server: 0.0.0.0:443"
        ),
    ),
    (
        "denied",
        3,
        "ERROR",
        lambda p: (
            f"[client {p.ip()}:{p.port()}] AH01630: client denied by server configuration: {p.path()}"
        ),
    ),
    (
        "cache_purge",
        2,
        "INFO",
        lambda p: (
            f"cache purge of {p.url_path()} done in {p.ms()}ms, {p.num(1, 400)} entries removed"
        ),
    ),
    (
        "cert_expiry",
        1,
        "WARN",
        lambda p: f'certificate "{p.host()}" expires in {p.num(1, 30)} days',
    ),
    (
        "body_too_large",
        1,
        "ERROR",
        lambda p: (
            f'client intended to send too large body: {p.num(1000000, 90000000)} bytes, client: {p.ip()}, server: {p.host()}, request: "{request(p)}"'
        ),
    ),
]


def node(p: Pools) -> str:
    return f"cmp-{p.pick(('east', 'west', 'north'))}-{p.num(1, 60):03d}"


def pod(p: Pools) -> str:
    return f"{p.pick(('web', 'checkout', 'search-api', 'worker', 'redis'))}-{p.letters(9, 'bcdfghjklmnpqrstvwxz2456789')}-{p.letters(5, 'bcdfghjklmnpqrstvwxz2456789')}"


def req(p: Pools) -> str:
    return f"[req-{p.uuid()} {p.hexs(32)} {p.hexs(32)} - - -]"


CLOUD = [
    (
        "api_access",
        40,
        "INFO",
        lambda p: (
            f'{req(p)} {p.ip()} "{p.pick(METHODS)} /v2.1/{p.hexs(32)}/servers/{p.pick(("detail", p.uuid(), "detail?all_tenants=1"))} HTTP/1.1" status: {p.pick((200, 202, 204, 404))} len: {p.num(200, 9000)} time: {p.g.random() * 2:.7f}'
        ),
    ),
    (
        "claim_attempt",
        6,
        "INFO",
        lambda p: (
            f"{req(p)} [instance: {p.uuid()}] Attempting claim on node {node(p)}: memory {p.pick((512, 2048, 4096, 8192))} MB, disk {p.pick((10, 20, 40, 80))} GB, vcpus {p.pick((1, 2, 4, 8))} CPU"
        ),
    ),
    ("claim_ok", 6, "INFO", lambda p: f"[instance: {p.uuid()}] Claim successful on node {node(p)}"),
    (
        "lifecycle",
        8,
        "INFO",
        lambda p: (
            f"[instance: {p.uuid()}] VM {p.pick(('Started', 'Stopped', 'Paused', 'Resumed'))} (Lifecycle Event)"
        ),
    ),
    (
        "spawn_time",
        5,
        "INFO",
        lambda p: (
            f"[instance: {p.uuid()}] Took {p.g.random() * 30:.2f} seconds to spawn the instance on the hypervisor."
        ),
    ),
    ("terminating", 3, "INFO", lambda p: f"{req(p)} [instance: {p.uuid()}] Terminating instance"),
    (
        "periodic",
        6,
        "DEBUG",
        lambda p: (
            f"Running periodic task ComputeManager.{p.pick(('_sync_power_states', '_heal_instance_info_cache', '_poll_rebooting_instances', '_reclaim_queued_deletes', '_check_instance_build_time'))}"
        ),
    ),
    (
        "resource_view",
        3,
        "INFO",
        lambda p: (
            f"Final resource view: name={node(p)} phys_ram={p.pick((65536, 131072))}MB used_ram={p.num(512, 60000)}MB phys_disk={p.pick((900, 1800))}GB used_disk={p.num(1, 800)}GB total_vcpus=32 used_vcpus={p.num(1, 32)} pci_stats=[]"
        ),
    ),
    (
        "pod_assigned",
        6,
        "INFO",
        lambda p: (
            f"Successfully assigned {p.pick(('default', 'prod', 'staging', 'kube-system'))}/{pod(p)} to {node(p)}"
        ),
    ),
    (
        "scaled",
        4,
        "INFO",
        lambda p: (
            f"Scaled {p.pick(('up', 'down'))} replica set {pod(p).rsplit('-', 1)[0]} to {p.num(1, 40)}"
        ),
    ),
    (
        "pulled",
        4,
        "INFO",
        lambda p: (
            f'Successfully pulled image "registry.example.com/{p.pick(("web", "worker", "api"))}:{p.hexs(7)}" in {p.g.random() * 9:.3f}s ({p.g.random() * 20:.3f}s including waiting)'
        ),
    ),
    (
        "backoff",
        3,
        "WARN",
        lambda p: (
            f"Back-off restarting failed container {p.pick(('app', 'sidecar', 'init-db'))} in pod {pod(p)}_{p.pick(('default', 'prod'))}({p.uuid()})"
        ),
    ),
    (
        "lambda_report",
        8,
        "INFO",
        lambda p: (
            f"REPORT RequestId: {p.uuid()}\tDuration: {p.ms():.2f} ms\tBilled Duration: {p.num(1, 3000)} ms\tMemory Size: {p.pick((128, 256, 512, 1024))} MB\tMax Memory Used: {p.num(40, 500)} MB"
        ),
    ),
    (
        "volume_delete",
        2,
        "INFO",
        lambda p: (
            f"Deleting volume {p.uuid()} from backend {p.pick(('ceph', 'lvm', 'netapp'))}@{p.word()}#{p.word()}"
        ),
    ),
    (
        "not_found",
        3,
        "INFO",
        lambda p: f"HTTP exception thrown: Instance {p.uuid()} could not be found.",
    ),
    (
        "lock_acquired",
        5,
        "DEBUG",
        lambda p: (
            f'Lock "{p.pick(("compute_resources", p.uuid(), "refresh_cache-" + p.uuid()))}" acquired by "{p.pick(("rt._update_available_resource", "manager._locked_do_build", "manager.do_terminate_instance"))}" :: waited {p.g.random():.3f}s'
        ),
    ),
    (
        "quota_exceeded",
        1,
        "WARN",
        lambda p: (
            f"Quota exceeded for {p.pick(('cores', 'ram', 'instances'))}: Requested {p.num(1, 64)}, but already used {p.num(10, 500)} of {p.num(500, 1000)}"
        ),
    ),
]

PROTOS = ("HTTPS", "HTTPS", "SOCKS5", "HTTP")


def app(p: Pools) -> str:
    return p.pick(APPS, 0.9)


def endpoint(p: Pools) -> str:
    return f"{p.host()}:{p.port()}"


def lifetime(p: Pools) -> str:
    r = p.g.random()
    return "<1 sec" if r < 0.3 else f"{p.num(1, 59):02d}:{p.num(1, 59):02d}" if r < 0.7 else p.hms()


def size(p: Pools) -> str:
    n = p.num(1, 90_000_000)
    text = p.grouped(n)
    if n < 1024:
        return f"{text} bytes"
    unit, v = ("KB", n / 1024) if n < 1024**2 else ("MB", n / 1024**2)
    return f"{text} bytes ({v:.2f} {unit})"


PROXY = [
    (
        "opened",
        25,
        "INFO",
        lambda p: (
            f"{app(p)} - {endpoint(p)} via {p.pick(('gw-1.corp.example', 'gw-2.corp.example', 'proxy.example.net'))}:{p.pick((3128, 8080))} opened ({p.pick(PROTOS)})"
        ),
    ),
    (
        "closed",
        25,
        "INFO",
        lambda p: (
            f"{app(p)} - {endpoint(p)} closed, {size(p)} sent, {size(p)} received, lifetime {lifetime(p)}"
        ),
    ),
    (
        "refused",
        4,
        "WARN",
        lambda p: (
            f"{app(p)} - {endpoint(p)} error: could not connect through proxy {p.pick(('gw-1.corp.example', 'gw-2.corp.example'))}:3128 - connection refused"
        ),
    ),
    ("dns_fail", 3, "WARN", lambda p: f"{app(p)} - cannot resolve {p.host()}: no such host"),
    ("dns_ok", 6, "DEBUG", lambda p: f"resolved {p.host()} to {p.ip()} in {p.num(1, 900)} ms"),
    (
        "squid",
        20,
        "INFO",
        lambda p: (
            f"{p.num(1700000000, 1790000000)}.{p.num(100, 999)} {p.num(1, 90000)} {p.ip()} TCP_{p.pick(('MISS', 'TUNNEL', 'HIT', 'DENIED', 'REFRESH_MODIFIED'))}/{p.pick((200, 304, 403, 503))} {p.num(100, 900000)} {p.pick(('CONNECT', 'GET', 'POST'))} {p.pick((endpoint(p), 'http://' + p.host() + p.url_path()))} - {p.pick(('HIER_DIRECT', 'HIER_NONE', 'FIRSTUP_PARENT'))}/{p.ip()} {p.pick(('-', 'text/html', 'application/json', 'image/png'))}"
        ),
    ),
    (
        "haproxy",
        15,
        "INFO",
        lambda p: (
            f'{p.ip()}:{p.port()} [{clf_time(p)[:-6]}.{p.num(100, 999)}] {p.pick(("fe_https", "fe_http"))} {p.pick(("be_api", "be_static", "be_auth"))}/{p.pick(("srv1", "srv2", "srv3"))} {p.num(0, 9)}/{p.num(0, 9)}/{p.num(0, 90)}/{p.num(1, 900)}/{p.num(1, 999)} {p.pick((200, 304, 502, 404))} {p.num(100, 90000)} - - ---- {p.num(1, 90)}/{p.num(1, 90)}/{p.num(0, 9)}/{p.num(0, 9)}/0 0/0 "{request(p)}"'
        ),
    ),
    (
        "tunnel",
        5,
        "INFO",
        lambda p: (
            f"tunnel {p.num(1, 99999)} {endpoint(p)} <-> {p.ip()}:{p.port()} closed after {p.hms()}, {size(p)} up / {size(p)} down"
        ),
    ),
    (
        "failover",
        1,
        "ERROR",
        lambda p: (
            f"proxy {p.pick(('gw-1.corp.example', 'gw-2.corp.example'))}:3128 is not responding, switching to {p.pick(('gw-3.corp.example', 'proxy.example.net'))}:8080"
        ),
    ),
    (
        "limit",
        1,
        "WARN",
        lambda p: f"{app(p)} reached the limit of {p.pick((256, 512))} connections",
    ),
    (
        "chain",
        2,
        "DEBUG",
        lambda p: (
            f"{app(p)} - {endpoint(p)} matched rule {p.pick(('Default', 'Intranet', 'Localhost', 'Streaming'))} -> chain {p.pick(('direct', 'corporate', 'backup'))}"
        ),
    ),
]
