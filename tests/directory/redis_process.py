"""A redis-server of a test's own (an outage it can cause), shared by the directory and
notification tests; the machine's Redis is never stopped."""

from __future__ import annotations

import asyncio
import socket
import subprocess
from pathlib import Path

import redis.asyncio
import redis.exceptions


def free_port() -> int:
    """A TCP port nothing listens on now, on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisProcess:
    """A redis-server of the test's own, on a free port, without persistence."""

    def __init__(self, executable: str, directory: Path) -> None:
        self.executable = executable
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        """Start it and wait until it answers PING (at most 5 s)."""
        assert self.process is None
        self.process = subprocess.Popen(
            [self.executable, "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.asyncio.Redis.from_url(self.url, socket_connect_timeout=0.2,
                                              socket_timeout=0.2)
        try:
            for _ in range(250):
                if self.process.poll() is not None:
                    raise RuntimeError(f"redis-server exited with {self.process.returncode}")
                try:
                    await client.ping()
                    return
                except redis.exceptions.ConnectionError:
                    await asyncio.sleep(0.02)
            raise RuntimeError("redis-server did not answer within 5 s")
        finally:
            await client.aclose()

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
