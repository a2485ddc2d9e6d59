"""``vidkg bench recovery VIDEO``: kill a random worker at a random moment, N times.

A soak of self-healing jobs (``indexer.recovery``): real ``vidkg worker`` processes on
the broker of ``VIDKG_BROKER_URL`` ingest VIDEO into a scratch database, over and over.
In each trial one worker, chosen at random among those running a unit, is SIGKILLed
with its pool (as the kernel's OOM killer would) at a random moment, and a fresh worker
takes its place (as a supervisor would restart it). Per trial: when the kill came, how
long until every unit the dead worker held was running or done again elsewhere
(``recover_s``), the job's wall time, and whether its rows equal those of an in-process
ingest of the same video with the same chunks. Use a broker database of its own.
"""

from __future__ import annotations

import math
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text

from api.cli.bench_workers import _wait_ready
from indexer.catalog import delete_video, register_video
from indexer.fingerprint import duplicates, snapshot
from indexer.jobs import TERMINAL, JobStore
from indexer.models import ModelRegistry
from indexer.worker import submit_job
from vidkg.db import Database
from vidkg.settings import Settings

_HELD = text("""
    SELECT stage, chunk_index FROM ingest_checkpoints
    WHERE status = 'running' AND split_part(worker, ':', 2) = :pid""")
_AGAIN = text("""
    SELECT count(*) FROM ingest_checkpoints
    WHERE (stage, chunk_index) IN (SELECT * FROM unnest(CAST(:stages AS text[]),
                                                         CAST(:chunks AS int[])))
      AND (status IN ('done', 'failed', 'skipped')
           OR (status = 'running' AND split_part(worker, ':', 2) <> :pid))""")


@dataclass(frozen=True)
class Trial:
    trial: int
    kill_at_s: float  # after the job was submitted
    units_held: int  # (stage, chunk) checkpoints the victim was running
    recover_s: float | None  # until each of them ran or ended elsewhere
    wall_s: float
    status: str
    rows_match: bool
    duplicates: int
    differs: tuple[str, ...]  # tables whose rows differ from the reference


def _worker(env: dict[str, str], threads: int) -> subprocess.Popen[bytes]:
    argv = ["worker", "--concurrency", "1", "--threads", str(threads)]
    return subprocess.Popen(
        [sys.executable, "-m", "api.cli", *argv],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _pool_pids(proc: subprocess.Popen[bytes]) -> set[int]:
    import psutil

    try:
        root = psutil.Process(proc.pid)
        return {proc.pid, *(c.pid for c in root.children(recursive=True))}
    except psutil.NoSuchProcess:
        return set()


def reference_rows(db: Database, settings: Settings, video: Path, stages: list[str]) -> dict:
    """The video ingested in this process: the rows every trial must reproduce."""
    from indexer.pipeline import Pipeline

    registry = ModelRegistry(settings.indexer, settings.model_cache_dir)
    reg = register_video(db.sessions, settings, video)
    report = Pipeline(db, settings, registry).ingest(reg.video_id, stages)
    if report.status != "succeeded":
        raise RuntimeError(f"the reference ingest {report.status}: {report.failures}")
    rows = snapshot(db)
    delete_video(db.sessions, settings, reg.video_id)
    return rows


class Soak:
    """Workers, the kill, the replacement: one trial after another on one database."""

    def __init__(self, db: Database, settings: Settings, workers: int, seed: int) -> None:
        self.db = db
        self.settings = settings
        self.rng = random.Random(seed)
        self.env = dict(
            os.environ, VIDKG_HOME=str(settings.home), VIDKG_BROKER_URL=settings.broker_url
        )
        self.env.pop("VIDKG_DATABASE_URL", None)
        self.threads = settings.indexer.threads or max(1, (os.cpu_count() or 1) // workers)
        self.procs = [_worker(self.env, self.threads) for _ in range(workers)]
        _wait_ready(settings, workers)

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            proc.wait(timeout=60)

    def trial(self, n: int, video: Path, stages: list[str], expected: dict, span_s: float) -> Trial:
        reg = register_video(self.db.sessions, self.settings, video)
        t0 = time.monotonic()
        job, _ = submit_job(self.db, self.settings, reg.video_id, stages)
        kill_at = self.rng.uniform(2.0, span_s)
        held, pid = self._kill_at(t0 + kill_at, job.id)
        recover_s = self._recovered(held, pid) if held else None
        jobs = JobStore(self.db.sessions)
        while (status := jobs.get(job.id).status) not in TERMINAL:
            time.sleep(0.5)
        wall = time.monotonic() - t0
        got, twice = snapshot(self.db), sum(duplicates(self.db).values())
        delete_video(self.db.sessions, self.settings, reg.video_id)
        differs = tuple(t for t in expected if got.get(t) != expected[t])
        return Trial(
            n,
            round(kill_at, 1),
            len(held),
            recover_s,
            round(wall, 1),
            status,
            not differs,
            twice,
            differs,
        )

    def _kill_at(self, moment: float, job_id: int) -> tuple[list[tuple[str, int]], str]:
        """SIGKILL, at ``moment``, a worker running a unit (any worker if none is), and
        start its replacement. Returns what it held and its pool pid."""
        time.sleep(max(0.0, moment - time.monotonic()))
        with self.db.engine.connect() as conn:
            running = (
                conn.execute(
                    text("SELECT DISTINCT worker FROM ingest_checkpoints WHERE status = 'running'")
                )
                .scalars()
                .all()
            )
        pids = {int(w.rsplit(":", 1)[1]) for w in running if w}
        busy = [p for p in self.procs if _pool_pids(p) & pids]
        victim = self.rng.choice(busy or self.procs)
        pid = next(iter(_pool_pids(victim) & pids), victim.pid)
        with self.db.engine.connect() as conn:
            held = [tuple(r) for r in conn.execute(_HELD, {"pid": str(pid)})]
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait(timeout=30)
        self.procs[self.procs.index(victim)] = _worker(self.env, self.threads)
        self.killed = time.monotonic()
        return held, str(pid)

    def _recovered(self, held: list[tuple[str, int]], pid: str, limit: float = 900) -> float | None:
        params = {"stages": [s for s, _ in held], "chunks": [c for _, c in held], "pid": pid}
        while time.monotonic() - self.killed < limit:
            with self.db.engine.connect() as conn:
                if conn.execute(_AGAIN, params).scalar_one() >= len(held):
                    return round(time.monotonic() - self.killed, 1)
            time.sleep(0.5)
        return None


def _quantile(sorted_values: list[float], q: float) -> float | None:
    """Nearest-rank quantile: the smallest value with at least ``q`` of them at or below."""
    if not sorted_values:
        return None
    return sorted_values[max(0, math.ceil(q * len(sorted_values)) - 1)]


def summary(trials: list[Trial]) -> dict[str, Any]:
    times = sorted(t.recover_s for t in trials if t.recover_s is not None)
    return {
        "trials": len(trials),
        "rows_identical": sum(t.rows_match and t.duplicates == 0 for t in trials),
        "succeeded": sum(t.status == "succeeded" for t in trials),
        "kills_mid_unit": len(times),
        "recover_s_p50": _quantile(times, 0.5),
        "recover_s_p95": _quantile(times, 0.95),
        "recover_s_max": _quantile(times, 1.0),
        "per_trial": [asdict(t) for t in trials],
    }
