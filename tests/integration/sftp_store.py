"""A real SFTP server on loopback, in a process of its own, for the object-storage tests.

Why SFTP: Airflow's SFTP provider registers the `sftp` scheme for `ObjectStoragePath` (through
sshfs), so a store URL with a connection id reaches it exactly as `s3://aws_default@bucket`
reaches S3, and asyncssh serves the other end in pure Python: no cloud API to imitate. The
server runs in its own process, like a file server the workers of several machines share.

`python -m tests.integration.sftp_store ROOT USER PASSWORD` serves ROOT and prints its port.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
USER = "modelwatch"
PASSWORD = "sftp-test-password"  # a loopback test server's


@dataclass(frozen=True)
class SftpStore:
    root: Path  # the folder the server serves, as this machine sees it
    port: int

    def connection(self) -> str:
        """The Airflow connection URI of the server (its host key is a fresh one: not checked)."""
        return f"sftp://{USER}:{PASSWORD}@127.0.0.1:{self.port}?no_host_key_check=true"


@contextmanager
def sftp_store(root: Path) -> Iterator[SftpStore]:
    """Serve `root` over SFTP until the block ends; ready when its port is printed."""
    root.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.sftp_store", str(root), USER, PASSWORD],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        if not line.strip().isdigit():
            raise RuntimeError(f"the SFTP server did not start (exit {proc.poll()})")
        yield SftpStore(root, int(line))
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main(root: str, user: str, password: str) -> None:
    import asyncssh

    class Server(asyncssh.SSHServer):
        def begin_auth(self, username: str) -> bool:
            return True

        def password_auth_supported(self) -> bool:
            return True

        def validate_password(self, username: str, given: str) -> bool:
            return (username, given) == (user, password)

    async def serve() -> None:
        server = await asyncssh.listen(
            "127.0.0.1",
            0,
            server_host_keys=[asyncssh.generate_private_key("ssh-ed25519")],
            server_factory=Server,
            sftp_factory=lambda chan: asyncssh.SFTPServer(chan, chroot=root),
        )
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.Event().wait()

    asyncio.run(serve())


if __name__ == "__main__":
    main(*sys.argv[1:4])
