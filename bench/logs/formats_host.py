# ruff: noqa: E501 - one statement per line reads best, however long its format
"""Invented logging statements of hosts and applications: Linux syslog/kernel, a JVM service,
Windows event text, a mobile app and a database server. Same shape as `formats_net`."""

from __future__ import annotations

from pools import SERVICES, Pools

UNITS = (
    "Daily apt upgrade and clean activities",
    "Cleanup of Temporary Directories",
    "Rotate log files",
    "Message of the Day",
    "Refresh fwupd metadata and update motd",
    "Discard unused blocks",
)
COMMANDS = (
    "run-parts --report /etc/cron.hourly",
    "/usr/lib/php/sessionclean",
    "test -x /usr/sbin/anacron || ( cd / && run-parts --report /etc/cron.daily )",
    "/opt/backup/bin/snapshot.sh --all",
    "debian-sa1 1 1",
)
REASONS = (
    "Bye Bye",
    "disconnected by user",
    "Normal Shutdown, Thank you for playing",
    "Closed due to user request.",
)


def auth_failure(p: Pools) -> str:
    tail = f"  user={p.user()}" if p.g.random() < 0.6 else ""
    return f"authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={p.pick((p.host(), p.ip()))}{tail}"


SYSLOG = [
    (
        "accepted",
        12,
        "INFO",
        lambda p: (
            f"Accepted {p.pick(('publickey', 'password', 'keyboard-interactive/pam'))} for {p.user()} from {p.ip()} port {p.port()} ssh2"
        ),
    ),
    (
        "failed_invalid",
        10,
        "WARN",
        lambda p: f"Failed password for invalid user {p.user()} from {p.ip()} port {p.port()} ssh2",
    ),
    (
        "failed",
        8,
        "WARN",
        lambda p: f"Failed password for {p.user()} from {p.ip()} port {p.port()} ssh2",
    ),
    ("invalid_user", 8, "WARN", lambda p: f"Invalid user {p.user()} from {p.ip()} port {p.port()}"),
    (
        "session_opened",
        12,
        "INFO",
        lambda p: (
            f"pam_unix(sshd:session): session opened for user {p.user()}(uid={p.num(0, 60000)}) by (uid=0)"
        ),
    ),
    (
        "session_closed",
        11,
        "INFO",
        lambda p: f"pam_unix(sshd:session): session closed for user {p.user()}",
    ),
    (
        "conn_closed",
        8,
        "INFO",
        lambda p: f"Connection closed by {p.ip()} port {p.port()} [preauth]",
    ),
    (
        "disconnect",
        5,
        "INFO",
        lambda p: (
            f"Received disconnect from {p.ip()} port {p.port()}:11: {p.pick(REASONS)} [preauth]"
        ),
    ),
    (
        "break_in",
        3,
        "WARN",
        lambda p: (
            f"reverse mapping checking getaddrinfo for {p.host()} [{p.ip()}] failed - POSSIBLE BREAK-IN ATTEMPT!"
        ),
    ),
    ("auth_failure", 6, "WARN", auth_failure),
    (
        "cron",
        8,
        "INFO",
        lambda p: f"({p.pick(('root', 'www-data', 'postgres'))}) CMD ({p.pick(COMMANDS)})",
    ),
    (
        "usb",
        2,
        "INFO",
        lambda p: (
            f"usb {p.num(1, 4)}-{p.num(1, 9)}: new {p.pick(('high', 'full', 'super'))}-speed USB device number {p.num(2, 40)} using {p.pick(('xhci_hcd', 'ehci-pci'))}"
        ),
    ),
    (
        "link_up",
        2,
        "INFO",
        lambda p: (
            f"{p.pick(('eth0', 'ens3', 'enp0s31f6', 'wlp2s0'))}: link up, {p.pick((100, 1000, 10000))} Mbps, full duplex"
        ),
    ),
    (
        "oom",
        1,
        "ERROR",
        lambda p: (
            f"Out of memory: Killed process {p.num(100, 90000)} ({p.pick(('java', 'python3', 'postgres', 'node'))}) total-vm:{p.num(10000, 9000000)}kB, anon-rss:{p.num(1000, 900000)}kB, file-rss:{p.num(0, 9000)}kB, shmem-rss:0kB"
        ),
    ),
    (
        "session_started",
        6,
        "INFO",
        lambda p: f"Started Session {p.num(1, 9000)} of user {p.user()}.",
    ),
    ("unit_starting", 4, "INFO", lambda p: f"Starting {p.pick(UNITS)}..."),
    (
        "dhcpack",
        4,
        "INFO",
        lambda p: (
            f"DHCPACK on {p.ip()} to {':'.join(p.hexs(2) for _ in range(6))} ({p.pick(('laptop-' + p.word(), p.word(), 'printer'))}) via {p.pick(('eth0', 'eth1'))}"
        ),
    ),
    (
        "apparmor",
        2,
        "WARN",
        lambda p: (
            f'audit: type=1400 audit({p.num(1700000000, 1790000000)}.{p.num(100, 999)}:{p.num(1, 9999)}): apparmor="DENIED" operation="{p.pick(("open", "exec", "mknod"))}" profile="{p.pick(("/usr/sbin/cupsd", "snap.firefox.firefox", "/usr/bin/man"))}" name="{p.path()}" pid={p.num(100, 90000)} comm="{p.pick(("cupsd", "firefox", "man"))}" requested_mask="r" denied_mask="r" fsuid={p.num(0, 2000)} ouid=0'
        ),
    ),
    ("ntp", 2, "INFO", lambda p: f"synchronized to {p.ip()}, stratum {p.num(1, 4)}"),
    (
        "max_auth",
        2,
        "WARN",
        lambda p: (
            f"error: maximum authentication attempts exceeded for {p.user()} from {p.ip()} port {p.port()} ssh2 [preauth]"
        ),
    ),
    (
        "su",
        2,
        "INFO",
        lambda p: f"pam_unix(su:session): session opened for user {p.user()} by {p.user()}(uid=0)",
    ),
    (
        "disk_full",
        1,
        "ERROR",
        lambda p: (
            f"EXT4-fs warning (device {p.pick(('sda1', 'nvme0n1p2', 'dm-0'))}): ext4_dx_add_entry: Directory index full!"
        ),
    ),
]

CLASSES = (
    "com.example.orders.OrderService",
    "com.example.billing.InvoiceJob",
    "org.example.cache.Loader",
    "com.example.api.UserController",
)
EXCEPTIONS = (
    "java.lang.IllegalStateException",
    "java.io.IOException",
    "java.util.concurrent.TimeoutException",
    "java.lang.NullPointerException",
)
MESSAGES = (
    "Connection reset",
    "timed out waiting for lock",
    "null",
    "Broken pipe",
    "unexpected end of stream on http://inventory:8080/...",
)

JVM = [
    (
        "started_app",
        1,
        "INFO",
        lambda p: (
            f"Started {p.pick(('OrderApplication', 'BillingApplication'))} in {p.g.random() * 20:.3f} seconds (process running for {p.g.random() * 25:.3f})"
        ),
    ),
    (
        "task_running",
        12,
        "INFO",
        lambda p: (
            f"Running task {p.num(0, 400)}.0 in stage {p.num(0, 90)}.0 (TID {p.num(0, 9000)})"
        ),
    ),
    (
        "task_finished",
        12,
        "INFO",
        lambda p: (
            f"Finished task {p.num(0, 400)}.0 in stage {p.num(0, 90)}.0 (TID {p.num(0, 9000)}) in {p.num(5, 90000)} ms on {p.host()} (executor {p.num(1, 40)}) ({p.num(1, 200)}/200)"
        ),
    ),
    (
        "block_stored",
        8,
        "INFO",
        lambda p: (
            f"Block broadcast_{p.num(0, 500)}{p.pick(('', '_piece0'))} stored as {p.pick(('values', 'bytes'))} in memory (estimated size {p.g.random() * 900:.1f} KiB, free {p.g.random() * 4000:.1f} MiB)"
        ),
    ),
    (
        "block_manager",
        2,
        "INFO",
        lambda p: (
            f"Registering block manager {p.host()}:{p.port()} with {p.g.random() * 4000:.1f} MiB RAM, BlockManagerId({p.num(1, 40)}, {p.host()}, {p.port()}, None)"
        ),
    ),
    (
        "hikari",
        2,
        "INFO",
        lambda p: (
            f"HikariPool-{p.num(1, 3)} - {p.pick(('Starting...', 'Start completed.', 'Shutdown initiated...'))}"
        ),
    ),
    (
        "uncaught",
        2,
        "ERROR",
        lambda p: (
            f'Exception in thread "{p.pick(("main", "pool-" + str(p.num(1, 9)) + "-thread-" + str(p.num(1, 30)), "scheduler-1"))}" {p.pick(EXCEPTIONS)}: {p.pick(MESSAGES)}'
        ),
    ),
    (
        "frame",
        10,
        "ERROR",
        lambda p: (
            f"\tat {p.pick(CLASSES)}.{p.pick(('handle', 'run', 'load', 'apply', 'lambda$process$3'))}({p.pick(CLASSES).rsplit('.', 1)[1]}.java:{p.num(10, 900)})"
        ),
    ),
    ("more", 2, "ERROR", lambda p: f"\t... {p.num(1, 80)} more"),
    ("caused_by", 2, "ERROR", lambda p: f"Caused by: {p.pick(EXCEPTIONS)}: {p.pick(MESSAGES)}"),
    (
        "broker",
        3,
        "WARN",
        lambda p: (
            f"[Producer clientId={p.pick(('orders-producer', 'billing-producer'))}] Connection to node {p.num(-1, 6)} ({p.host()}/{p.ip()}:9092) could not be established. Broker may not be available."
        ),
    ),
    (
        "request_done",
        14,
        "INFO",
        lambda p: (
            f"Request {p.pick(('GET', 'POST', 'PUT'))} {p.url_path()} completed in {p.num(1, 9000)}ms with status {p.pick((200, 201, 400, 404, 500))}"
        ),
    ),
    (
        "young_gc",
        6,
        "INFO",
        lambda p: (
            f"[GC (Allocation Failure) [PSYoungGen: {p.num(1000, 900000)}K->{p.num(100, 90000)}K({p.num(100000, 990000)}K)] {p.num(1000, 900000)}K->{p.num(1000, 900000)}K({p.num(100000, 9000000)}K), {p.g.random():.7f} secs]"
        ),
    ),
    (
        "cache_refreshed",
        5,
        "INFO",
        lambda p: (
            f"Cache {p.pick(('userCache', 'priceCache', 'sessionCache', 'catalogCache', 'taxRules', 'geoIndex'))} refreshed: {p.num(1, 90000)} entries in {p.num(1, 9000)} ms"
        ),
    ),
    (
        "job_status",
        4,
        "INFO",
        lambda p: (
            f"Scheduled job '{p.pick(('nightlyInvoices', 'purgeSessions', 'syncCatalog', 'reindex'))}' finished with status {p.pick(('SUCCESS', 'SUCCESS', 'FAILED', 'SKIPPED'))}"
        ),
    ),
    (
        "tomcat",
        1,
        "INFO",
        lambda p: (
            f"Tomcat started on port(s): {p.pick((8080, 8081, 9090))} (http) with context path ''"
        ),
    ),
    (
        "retry",
        3,
        "WARN",
        lambda p: (
            f"Retrying request to http://{p.host()}:{p.port()}{p.url_path()} (attempt {p.num(1, 5)} of 5)"
        ),
    ),
    ("login", 5, "INFO", lambda p: f"User {p.user()} logged in from {p.ip()}"),
    (
        "consumer_join",
        1,
        "INFO",
        lambda p: (
            f"[Consumer clientId=consumer-{p.word()}-{p.num(1, 9)}, groupId={p.word()}] Successfully joined group with generation Generation{{generationId={p.num(1, 90)}, memberId='consumer-{p.word()}-{p.uuid()}', protocol='range'}}"
        ),
    ),
]

WINDOWS = [
    (
        "service_state",
        14,
        "INFO",
        lambda p: (
            f"The {p.pick(SERVICES)} service entered the {p.pick(('running', 'stopped'))} state."
        ),
    ),
    (
        "service_crash",
        3,
        "ERROR",
        lambda p: (
            f"The {p.pick(SERVICES)} service terminated unexpectedly.  It has done this {p.num(1, 9)} time(s)."
        ),
    ),
    (
        "servicing_session",
        12,
        "INFO",
        lambda p: (
            f"Servicing session {p.num(30000000, 39999999)}_{p.num(1000000000, 4000000000)} opened by {p.pick(('UpdateAgent', 'TrustedInstaller', 'DISM Package Manager Provider'))}"
        ),
    ),
    (
        "update_installed",
        4,
        "INFO",
        lambda p: (
            f"Installation Successful: Windows successfully installed the following update: {p.pick(('Security Intelligence Update for Microsoft Defender Antivirus', 'Cumulative Update for Windows 11', '2026-05 Update for Windows 10 Version 22H2 for x64-based Systems', 'Servicing Stack Update'))} (KB{p.num(2000000, 5999999)})"
        ),
    ),
    (
        "faulting_app",
        3,
        "ERROR",
        lambda p: (
            f"Faulting application name: {p.pick(('explorer.exe', 'OUTLOOK.EXE', 'vmtoolsd.exe', 'backup-agent.exe'))}, version: {p.num(1, 20)}.{p.num(0, 9)}.{p.num(0, 99999)}.{p.num(0, 9999)}, time stamp: 0x{p.hexs(8)}"
        ),
    ),
    (
        "logon",
        10,
        "INFO",
        lambda p: (
            f"An account was successfully logged on. Subject: Security ID: S-1-5-{p.pick((18, 19, 20, 21))} Account Name: {p.pick((p.user(), p.word().upper() + '$'))} Account Domain: {p.pick(('CORP', 'WORKGROUP', 'NT AUTHORITY'))} Logon ID: 0x{p.hexs(6)} Logon Type: {p.pick((2, 3, 5, 10))}"
        ),
    ),
    (
        "package_open_failed",
        4,
        "ERROR",
        lambda p: (
            f"Failed to open package file {p.win_path()} [HRESULT = 0x{p.pick(('800f0805', '80070002', '800f081f'))} - {p.pick(('CBS_E_INVALID_PACKAGE', 'ERROR_FILE_NOT_FOUND', 'CBS_E_SOURCE_MISSING'))}]"
        ),
    ),
    (
        "reading_package",
        10,
        "INFO",
        lambda p: (
            f"Reading package from {p.win_path()}: Package_for_KB{p.num(2000000, 5999999)}~31bf3856ad364e35~amd64~~{p.num(6, 10)}.{p.num(0, 3)}.{p.num(1, 9999)}.{p.num(0, 9)}"
        ),
    ),
    ("resumed", 2, "INFO", lambda p: "The system has resumed from sleep."),
    (
        "os_started",
        1,
        "INFO",
        lambda p: (
            f"The operating system started at system time 2026-{p.num(1, 12):02d}-{p.num(1, 28):02d}T{p.num(0, 23):02d}:{p.num(0, 59):02d}:{p.num(0, 59):02d}.{p.num(100, 999)}Z."
        ),
    ),
    (
        "malware",
        1,
        "WARN",
        lambda p: (
            f"Microsoft Defender Antivirus has detected malware or other potentially unwanted software. Name: {p.pick(('Trojan:Win32/Agent', 'PUA:Win32/Presenoker', 'HackTool:Win64/Mikatz!dha'))} ID: {p.num(2147000000, 2147999999)} Severity: {p.pick(('Severe', 'Low', 'High'))} Path: file:_{p.win_path()}"
        ),
    ),
    (
        "dns_timeout",
        3,
        "WARN",
        lambda p: (
            f"Name resolution for the name {p.host()} timed out after none of the configured DNS servers responded."
        ),
    ),
    (
        "time_sync",
        2,
        "INFO",
        lambda p: (
            f"The time service is now synchronizing the system time with the time source {p.pick(('time.windows.com', 'dc1.corp.example'))},0x{p.num(1, 9)} ({p.pick(('ntp.m', 'ntp.d'))}|0x{p.num(0, 9)}|0.0.0.0:123->{p.ip()}:123)."
        ),
    ),
    (
        "restore_point",
        1,
        "INFO",
        lambda p: (
            f"Restore point created: {p.pick(('Installed Visual C++ Redistributable', 'Windows Update', 'Scheduled Checkpoint'))}"
        ),
    ),
]

PKGS = (
    "com.example.fit",
    "com.example.chat",
    "com.android.systemui",
    "com.google.android.gms",
    "com.example.maps",
)


def pkg(p: Pools) -> str:
    return p.pick(PKGS, 0.9)


MOBILE = [
    (
        "start_proc",
        4,
        "INFO",
        lambda p: (
            f"Start proc {p.num(1000, 30000)}:{pkg(p)}/u0a{p.num(10, 300)} for {p.pick(('activity', 'service', 'broadcast', 'content provider'))} {pkg(p)}/.{p.pick(('MainActivity', 'SyncService', 'BootReceiver'))}"
        ),
    ),
    (
        "displayed",
        5,
        "INFO",
        lambda p: (
            f"Displayed {pkg(p)}/.{p.pick(('MainActivity', 'SettingsActivity', 'MapActivity'))}: +{p.num(80, 4000)}ms"
        ),
    ),
    (
        "wakelock_acquire",
        12,
        "DEBUG",
        lambda p: (
            f'acquire lock={p.num(10000000, 999999999)}, flags=0x{p.pick((1, 6, 10))}, tag="{p.pick(("*alarm*", "SyncLoop", "GCM_CONN", "NlpWakeLock", "*job*/" + pkg(p)))}", name={pkg(p)}, ws={p.pick(("null", "WorkSource{" + str(p.num(10000, 10300)) + "}"))}, uid={p.num(1000, 10300)}, pid={p.num(1000, 30000)}'
        ),
    ),
    (
        "wakelock_release",
        12,
        "DEBUG",
        lambda p: (
            f'release lock={p.num(10000000, 999999999)}, flg=0x0, tag="{p.pick(("*alarm*", "SyncLoop", "GCM_CONN", "NlpWakeLock"))}", name={pkg(p)}, ws={p.pick(("null", "WorkSource{" + str(p.num(10000, 10300)) + "}"))}, uid={p.num(1000, 10300)}, pid={p.num(1000, 30000)}'
        ),
    ),
    ("steps", 14, "INFO", lambda p: f"onStepUpdate total={p.num(1, 30000)} delta={p.num(1, 40)}"),
    (
        "upload",
        6,
        "INFO",
        lambda p: (
            f"upload|batch={p.num(1, 9999)}|size={p.num(1, 90000)}|result={p.pick(('ok', 'ok', 'retry', 'fail'))}"
        ),
    ),
    (
        "screen",
        5,
        "INFO",
        lambda p: (
            f"screen turned {p.pick(('on', 'off'))} by {p.pick(('user', 'timeout', 'proximity sensor'))}"
        ),
    ),
    (
        "alarm",
        6,
        "DEBUG",
        lambda p: (
            f"setAlarm type={p.pick((0, 2, 3))} triggerAt={p.num(1700000000000, 1790000000000)} window={p.pick((0, -1, 60000))} tag={p.pick(('*walarm*:' + pkg(p) + '.SYNC', '*alarm*:android.intent.action.TIME_TICK'))}"
        ),
    ),
    (
        "connectivity",
        3,
        "INFO",
        lambda p: (
            f"Connectivity changed: {p.pick(('WIFI', 'MOBILE', 'NONE'))} {p.pick(('CONNECTED', 'DISCONNECTED', 'SUSPENDED'))}"
        ),
    ),
    (
        "view_appeared",
        6,
        "DEBUG",
        lambda p: (
            f"[{p.pick(('FeedViewController', 'ProfileViewController', 'MapViewController', 'ChatListController'))}] viewDidAppear in {p.num(1, 900)} ms"
        ),
    ),
    (
        "battery",
        4,
        "INFO",
        lambda p: (
            f"Battery level {p.num(1, 100)}%, {p.pick(('charging', 'discharging', 'full'))}, temperature {p.g.random() * 20 + 25:.1f}C"
        ),
    ),
    (
        "push",
        4,
        "INFO",
        lambda p: (
            f"Push notification received id={p.uuid()} topic={p.pick(('chat.message', 'promo', 'fit.goal'))}"
        ),
    ),
    (
        "gps",
        3,
        "DEBUG",
        lambda p: (
            f"GPS fix acquired: lat={p.g.uniform(-80, 80):.5f} lon={p.g.uniform(-170, 170):.5f} acc={p.g.random() * 50:.1f}m"
        ),
    ),
    (
        "skipped_frames",
        2,
        "WARN",
        lambda p: (
            f"Skipped {p.num(30, 900)} frames!  The application may be doing too much work on its main thread."
        ),
    ),
    (
        "sync_failed",
        2,
        "ERROR",
        lambda p: (
            f"Failed to sync account {p.user()}@{p.pick(('example.com', 'mail.example.org'))}: {p.pick(('IOException', 'AuthenticatorException', 'timeout'))}"
        ),
    ),
    (
        "heart_rate",
        4,
        "INFO",
        lambda p: (
            f"hr_sample:{p.num(1700000000000, 1790000000000)}##{p.num(40, 190)}##{p.num(0, 3)}"
        ),
    ),
]

SQL = (
    "SELECT * FROM orders WHERE id = $1",
    "UPDATE inventory SET qty = qty - $1 WHERE sku = $2",
    "INSERT INTO events (ts, kind, payload) VALUES ($1, $2, $3)",
    "COMMIT",
    "SELECT count(*) FROM sessions",
)
DBS = ("orders", "billing", "analytics", "postgres")

DATABASE = [
    (
        "duration",
        20,
        "LOG",
        lambda p: f"duration: {p.g.random() * 900:.3f} ms  statement: {p.pick(SQL)}",
    ),
    ("conn_received", 14, "LOG", lambda p: f"connection received: host={p.ip()} port={p.port()}"),
    (
        "conn_authorized",
        13,
        "LOG",
        lambda p: (
            f"connection authorized: user={p.user()} database={p.pick(DBS)} application_name={p.pick(('psql', 'orders-api', 'PostgreSQL JDBC Driver', 'pgbouncer'))}"
        ),
    ),
    (
        "disconnection",
        12,
        "LOG",
        lambda p: (
            f"disconnection: session time: {p.hms()}.{p.num(100, 999)} user={p.user()} database={p.pick(DBS)} host={p.ip()} port={p.port()}"
        ),
    ),
    (
        "checkpoint_start",
        3,
        "LOG",
        lambda p: (
            f"checkpoint starting: {p.pick(('time', 'wal', 'immediate force wait', 'shutdown immediate'))}"
        ),
    ),
    (
        "checkpoint_done",
        3,
        "LOG",
        lambda p: (
            f"checkpoint complete: wrote {p.num(1, 90000)} buffers ({p.g.random() * 30:.1f}%); {p.num(0, 3)} WAL file(s) added, {p.num(0, 9)} removed, {p.num(0, 9)} recycled; write={p.g.random() * 300:.3f} s, sync={p.g.random():.3f} s, total={p.g.random() * 300:.3f} s; sync files={p.num(1, 300)}, longest={p.g.random():.3f} s, average={p.g.random() / 10:.3f} s; distance={p.num(100, 900000)} kB, estimate={p.num(100, 900000)} kB"
        ),
    ),
    (
        "autovacuum",
        5,
        "LOG",
        lambda p: (
            f'automatic vacuum of table "{p.pick(DBS)}.public.{p.pick(("orders", "order_items", "sessions", "events"))}": index scans: {p.num(0, 3)}'
        ),
    ),
    ("reset", 4, "LOG", lambda p: "could not receive data from client: Connection reset by peer"),
    (
        "unique",
        4,
        "ERROR",
        lambda p: (
            f'duplicate key value violates unique constraint "{p.pick(("orders_pkey", "users_email_key", "inventory_sku_key"))}"'
        ),
    ),
    (
        "no_relation",
        2,
        "ERROR",
        lambda p: (
            f'relation "{p.pick(("order_archive", "tmp_import", "users_old"))}" does not exist at character {p.num(10, 300)}'
        ),
    ),
    ("deadlock", 1, "ERROR", lambda p: "deadlock detected"),
    (
        "temp_file",
        3,
        "LOG",
        lambda p: (
            f'temporary file: path "base/pgsql_tmp/pgsql_tmp{p.num(1000, 99999)}.{p.num(0, 9)}", size {p.num(1000, 900000000)}'
        ),
    ),
    (
        "aborted",
        3,
        "WARN",
        lambda p: (
            f"Aborted connection {p.num(1, 99999)} to db: '{p.pick(DBS)}' user: '{p.user()}' host: '{p.host()}' (Got an error reading communication packets)"
        ),
    ),
    (
        "slow_query",
        4,
        "WARN",
        lambda p: (
            f"Slow query: {p.num(500, 90000)}ms {p.pick(DBS)}.{p.pick(('orders', 'events'))} rows_examined={p.num(1, 9000000)}"
        ),
    ),
]
