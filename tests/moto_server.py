"""Pytest plugin: fake AWS credentials for moto, and ONE `moto_server` per test session on a free port.

Registered in tests/conftest.py (`pytest_plugins`) so every test package can use `moto_server` (e.g. API tests
that collect through HTTP). Call `moto_server.reset()` to start from an empty estate.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

# Before moto is imported anywhere: skip the 1,300 built-in AMIs and their snapshots (see FACTS.md).
os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")

FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
}
UNSET_AWS_ENV = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL")


@contextmanager
def fake_aws_env(**extra: str) -> Iterator[None]:
    """Fake credentials and no host AWS configuration, so nothing can reach a real account."""
    with pytest.MonkeyPatch.context() as patch:
        for name in UNSET_AWS_ENV:
            patch.delenv(name, raising=False)
        for name, value in {**FAKE_AWS_ENV, **extra}.items():
            patch.setenv(name, value)
        yield


@pytest.fixture
def aws_env() -> Iterator[None]:
    with fake_aws_env():
        yield


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class MotoServer:
    url: str
    process: subprocess.Popen[bytes]

    def reset(self) -> None:
        """Forget every resource of every account (moto's reset endpoint)."""
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()

    def env(self) -> dict[str, str]:
        """Environment for a process (boto3 honours AWS_ENDPOINT_URL) that talks to this server."""
        env = {k: v for k, v in os.environ.items() if k not in UNSET_AWS_ENV}
        return {**env, **FAKE_AWS_ENV, "AWS_ENDPOINT_URL": self.url}


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto_server exited with {process.returncode}: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/moto-api/", timeout=1):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    raise RuntimeError(f"moto_server did not answer on {url} within {timeout} s")


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """One moto_server subprocess for the whole session, on a free port, stopped at the end."""
    log = tmp_path_factory.mktemp("moto-server") / "moto_server.log"
    for _attempt in range(3):  # the port can be taken between choosing it and binding it
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        with log.open("wb") as sink:
            process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                stdout=sink,
                stderr=subprocess.STDOUT,
                env={**os.environ, "MOTO_EC2_LOAD_DEFAULT_AMIS": "false"},
            )
        try:
            _wait_until_up(url, process, log)
        except RuntimeError:
            process.kill()
            process.wait(timeout=10)
            continue
        try:
            yield MotoServer(url=url, process=process)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        return
    raise RuntimeError(f"could not start moto_server: {log.read_text()[-2000:]}")
