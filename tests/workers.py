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

from tests.support import REPO
from vidkg.db import Database

# Rows of every evidence table, without ids or timestamps of the run; floats rounded
# where models compute them (identical inputs give identical results, the rounding only
# absorbs the last bits of float32 arithmetic).
SNAPSHOT = {
    "scenes": "SELECT scene_index, shot_index, cut_before, start_s, end_s, keyframe_times "
    "FROM scenes ORDER BY start_s",
    "frames": "SELECT t_s, embedding IS NOT NULL AS embedded FROM frames ORDER BY t_s",
    "speech": "SELECT start_s, end_s, text, words::text, embedding IS NOT NULL AS embedded "
    "FROM speech_segments ORDER BY start_s",
    "texts": "SELECT text, start_s, end_s, round(box_x1::numeric, 3) AS x1, "
    "round(box_y1::numeric, 3) AS y1, embedding IS NOT NULL AS embedded "
    "FROM onscreen_text ORDER BY start_s, text",
    "tracks": "SELECT track_key, label, start_s, end_s, detection_count, "
    "round(max_confidence::numeric, 3) AS conf FROM tracks ORDER BY track_key",
    "detections": "SELECT t.track_key, d.t_s, d.label, round(d.confidence::numeric, 3) AS conf, "
    "round(d.box_x1::numeric, 3) AS x1, round(d.box_y2::numeric, 3) AS y2 "
    "FROM detections d LEFT JOIN tracks t ON t.id = d.track_id ORDER BY d.t_s, x1, conf",
    "captions": "SELECT start_s, end_s, text, captioner, embedding IS NOT NULL AS embedded "
    "FROM captions ORDER BY start_s",
    "checkpoints": "SELECT stage, chunk_index, status, rows_written FROM ingest_checkpoints "
    "ORDER BY stage, chunk_index",
    # The knowledge graph: the same events, entities per kind and edges per predicate.
    "graph": "SELECT counts::text FROM graph_builds ORDER BY video_id",
    "events": "SELECT start_s, end_s, title, description FROM events ORDER BY start_s",
    "entities": "SELECT e.kind, e.canonical_name, count(*) FROM entities e "
    "JOIN mentions m ON m.entity_id = e.id GROUP BY 1, 2 ORDER BY 1, 2",
    "relations": "SELECT predicate, count(*) FROM relations GROUP BY 1 ORDER BY 1",
}


def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    with db.engine.connect() as conn:
        return {name: [tuple(r) for r in conn.execute(text(q))] for name, q in SNAPSHOT.items()}


def duplicates(db: Database) -> dict[str, int]:
    """Rows that appear more than once by what identifies them (must all be 0)."""
    checks = {
        "scenes": "SELECT count(*) - count(DISTINCT start_s) FROM scenes",
        "speech": "SELECT count(*) - count(DISTINCT (start_s, text)) FROM speech_segments",
        "texts": "SELECT count(*) - count(DISTINCT (start_s, text)) FROM onscreen_text",
        "detections": "SELECT count(*) - count(DISTINCT (t_s, box_x1, box_y1, box_x2, box_y2)) "
        "FROM detections",
        "captions": "SELECT count(*) - count(DISTINCT start_s) FROM captions",
    }
    with db.engine.connect() as conn:
        return {k: conn.execute(text(q)).scalar_one() for k, q in checks.items()}


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """A ``vidkg worker`` with one pool process, in a process group of its own."""
    return subprocess.Popen(
        [sys.executable, "-m", "api.cli", "worker", "--concurrency", "1"],
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
