"""Helpers of the API tests: apps over a test database, keys, and a live server.

``live_server`` runs ``vidkg serve`` as a user would (uvicorn on a loopback port, in a
child process) and waits until it answers ``/readyz``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from api.keys import KeyStore, parse_scopes
from tests.support import REPO, cli_env
from vidkg.db import Database
from vidkg.settings import Settings


def with_api(settings: Settings, **changes: object) -> Settings:
    """``settings`` with some ``VIDKG_API__*`` values changed."""
    return settings.model_copy(update={"api": settings.api.model_copy(update=changes)})


def key(db: Database, scopes: str) -> dict[str, str]:
    """Authorization headers of a new key with these scopes."""
    secret = KeyStore(db.sessions).create(parse_scopes(scopes), f"test {scopes}").secret
    return {"Authorization": f"Bearer {secret}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def live_server(
    settings: Settings,
    log: Path,
    env: dict[str, str] | None = None,
    timeout: float = 120,
    args: tuple[str, ...] = (),
) -> Iterator[str]:
    """``vidkg serve`` on a free port (loopback unless ``args`` bind elsewhere); yields
    its base URL."""
    port = free_port()
    full = cli_env(settings) | (env or {})
    process = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--port", str(port), *args],
        env=full,
        cwd=REPO,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base, process, log, timeout)
        yield base
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


def _wait_ready(base: str, process: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"vidkg serve exited: {log.read_text()[-3000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        time.sleep(0.3)
    raise AssertionError(f"vidkg serve not ready after {timeout} s: {log.read_text()[-3000:]}")
