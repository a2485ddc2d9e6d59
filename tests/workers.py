"""Real ``vidkg worker`` processes for the distributed tests, and row snapshots to compare.

Workers are started as a user would (``python -m api.cli worker``), each in its own
process group so a test can SIGKILL one with all its children, mid-chunk.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import text

from indexer.fingerprint import duplicates, snapshot  # noqa: F401 - used by the tests
from tests.support import REPO
from vidkg.db import Database


def start_worker(
    env: dict[str, str], log: Path, module: str = "api.cli"
) -> subprocess.Popen[bytes]:
    """A ``vidkg worker`` with one pool process, in a process group of its own
    (``module``: another entry point, e.g. ``tests.poison_worker``)."""
    return subprocess.Popen(
        [sys.executable, "-m", module, "worker", "--concurrency", "1"],
        env=env,
        cwd=REPO,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def kill(worker: subprocess.Popen[bytes]) -> None:
    """SIGKILL the worker and its pool children at once: nothing gets to clean up."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=30)


def stop(worker: subprocess.Popen[bytes]) -> None:
    if worker.poll() is None:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            kill(worker)


def wait_for(check: Callable[[], Any], timeout: float, what: str, every: float = 0.3) -> Any:
    """Poll ``check`` until it returns something truthy; errors count as not yet."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            found = check()
        except Exception as exc:  # noqa: BLE001 - e.g. the database is restarting
            last = exc
        else:
            if found:
                return found
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last error: {last})")


def job_status(db: Database, job_id: int) -> str:
    with db.engine.connect() as conn:
        return conn.execute(
            text("SELECT status FROM ingest_jobs WHERE id = :id"), {"id": job_id}
        ).scalar_one()


def checkpoint_count(db: Database, status: str) -> int:
    with db.engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT count(*) FROM ingest_checkpoints "
                "WHERE status = :s AND stage NOT IN ('graph', 'finalize')"
            ),
            {"s": status},
        ).scalar_one()


def assert_same_rows(got: dict[str, list], expected: dict[str, list]) -> None:
    """Snapshots equal table by table, naming the first row that differs."""
    assert set(got) == set(expected)
    for table, rows in expected.items():
        first = next(
            ((i, a, b) for i, (a, b) in enumerate(zip(got[table], rows, strict=False)) if a != b),
            None,
        )
        assert got[table] == rows, (
            f"{table}: {len(got[table])} rows, expected {len(rows)}; first difference {first}"
        )
