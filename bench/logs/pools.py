# ruff: noqa: E501 - pools are data
"""Random values for the labelled log corpus: hosts, users, ids, sizes, durations, paths.

Every pool is skewed like real logs are: a few values are common, many are rare, so that a
miner cannot tell a variable from a constant by counting distinct values alone.
"""

from __future__ import annotations

import random
import string

WORDS = [
    "alpha",
    "bravo",
    "cedar",
    "delta",
    "ember",
    "falcon",
    "garnet",
    "harbor",
    "indigo",
    "juniper",
    "kestrel",
    "lumen",
    "maple",
    "nectar",
    "onyx",
    "pepper",
    "quartz",
    "raven",
    "saffron",
    "tundra",
    "umber",
    "violet",
    "willow",
    "xenon",
    "yonder",
    "zephyr",
]
USERS = [
    "root",
    "admin",
    "deploy",
    "alice",
    "bob",
    "carol",
    "dave",
    "erin",
    "frank",
    "grace",
    "heidi",
    "ivan",
    "judy",
    "mallory",
    "oscar",
    "peggy",
    "trent",
    "victor",
    "walter",
    "www-data",
    "postgres",
    "jenkins",
    "backup",
    "guest",
    "test",
    "oracle",
    "ubuntu",
    "svc-etl",
    "svc-batch",
    "nagios",
    "git",
    "ftpuser",
    "support",
    "sales",
]
TLDS = ("com", "net", "org", "io", "local", "internal", "lan", "de", "fr", "jp")
APPS = (
    "chrome.exe",
    "firefox.exe",
    "outlook.exe",
    "Teams.exe",
    "svchost.exe *64",
    "Code Helper (Renderer)",
    "java.exe",
    "git-remote-https.exe",
    "OneDrive.exe",
    "Slack Helper.app",
    "curl",
    "python3.11",
)
SERVICES = (
    "Print Spooler",
    "Windows Update",
    "Background Intelligent Transfer Service",
    "Windows Defender Antivirus Network Inspection Service",
    "DHCP Client",
    "Themes",
    "Windows Search",
    "Remote Registry",
    "Volume Shadow Copy",
    "Software Protection",
    "WinHTTP Web Proxy Auto-Discovery Service",
    "Diagnostic Policy Service",
)


class Pools:
    """Values drawn from one seeded generator, skewed (Zipf-like) where real values are."""

    def __init__(self, seed: int) -> None:
        self.g = random.Random(seed)
        self._hosts = [self._new_host() for _ in range(60)]
        self._ips = [self._new_ip() for _ in range(80)]

    def pick(self, seq, skew: float = 1.2):
        """A value of `seq`, the first ones far more often than the last."""
        weights = [1.0 / (i + 1) ** skew for i in range(len(seq))]
        return self.g.choices(seq, weights)[0]

    def word(self) -> str:
        return self.pick(WORDS)

    def letters(self, n: int, alphabet: str = string.ascii_lowercase) -> str:
        return "".join(self.g.choice(alphabet) for _ in range(n))

    def _new_host(self) -> str:
        g = self.g
        kind = g.randrange(4)
        if kind == 0:
            return (
                f"{g.choice(WORDS)}-{g.randrange(1, 40)}.{g.choice(WORDS)}.example.{g.choice(TLDS)}"
            )
        if kind == 1:
            return f"{g.choice(('www', 'api', 'cdn', 'mail', 'auth', 'static'))}.{g.choice(WORDS)}.{g.choice(TLDS)}"
        if kind == 2:
            return f"{g.choice(WORDS)}.{g.choice(WORDS)}.corp.example"
        return f"ip-10-{g.randrange(256)}-{g.randrange(256)}-{g.randrange(256)}.ec2.internal"

    def _new_ip(self) -> str:
        g = self.g
        if g.random() < 0.5:
            return f"10.{g.randrange(256)}.{g.randrange(256)}.{g.randrange(1, 255)}"
        return f"{g.randrange(1, 224)}.{g.randrange(256)}.{g.randrange(256)}.{g.randrange(1, 255)}"

    def host(self) -> str:
        return self.pick(self._hosts, 0.8) if self.g.random() < 0.9 else self._new_host()

    def ip(self) -> str:
        return self.pick(self._ips, 0.7) if self.g.random() < 0.8 else self._new_ip()

    def port(self) -> int:
        return (
            self.pick((443, 80, 8080, 22, 5432, 3128, 8443, 9092))
            if self.g.random() < 0.5
            else self.g.randrange(1024, 65536)
        )

    def user(self) -> str:
        return (
            self.pick(USERS, 1.0)
            if self.g.random() < 0.85
            else self.letters(self.g.randrange(4, 9))
        )

    def uuid(self) -> str:
        h = "".join(self.g.choice("0123456789abcdef") for _ in range(32))
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def hexs(self, n: int) -> str:
        return "".join(self.g.choice("0123456789abcdef") for _ in range(n))

    def num(self, lo: int, hi: int) -> int:
        """Log-uniform: small values common, large ones possible."""
        return (
            round(lo * (hi / max(lo, 1)) ** self.g.random()) if lo > 0 else self.g.randrange(lo, hi)
        )

    def grouped(self, n: int) -> str:
        return f"{n:,}"

    def ms(self) -> float:
        return round(self.g.lognormvariate(3.0, 1.2), self.g.choice((0, 1, 2, 3)))

    def hms(self) -> str:
        s = self.num(1, 20000)
        return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"

    def path(self, depth: int | None = None) -> str:
        depth = depth or self.g.randrange(1, 5)
        parts = [self.pick(("var", "srv", "opt", "home", "data", "usr", "etc", "tmp"))]
        parts += [self.word() if self.g.random() < 0.7 else self.letters(6) for _ in range(depth)]
        ext = self.g.choice(("", ".log", ".json", ".db", ".conf", ".html", ".py"))
        return "/" + "/".join(parts) + ext

    def url_path(self) -> str:
        base = self.pick(
            (
                "/api/v1/orders",
                "/api/v1/users",
                "/login",
                "/static/app.js",
                "/",
                "/health",
                "/search",
                "/images/logo.png",
                "/cart/items",
            )
        )
        if self.g.random() < 0.3:
            base += f"/{self.num(1, 99999)}"
        if self.g.random() < 0.2:
            base += f"?q={self.word()}&page={self.g.randrange(1, 20)}"
        return base

    def win_path(self) -> str:
        parts = [
            "C:",
            "Windows",
            self.pick(("System32", "WinSxS", "Temp", "SoftwareDistribution", "Logs")),
        ]
        parts += [self.letters(self.g.randrange(4, 10)) for _ in range(self.g.randrange(0, 3))]
        return "\\".join(parts) + self.g.choice((".dll", ".exe", ".log", ".cab", ".mum"))
