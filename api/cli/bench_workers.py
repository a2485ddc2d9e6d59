"""``vidkg bench ingest VIDEO --workers N``: the same ingest on N worker processes.

The workers are real ``vidkg worker`` processes (one pool process each) on the broker
of ``VIDKG_BROKER_URL``, sharing a private scratch database; each gets cores / N model
threads unless ``VIDKG_INDEXER__THREADS`` says otherwise. The clock starts when the
job is submitted, after every worker has answered a ping, so it counts model loading
(as the in-process benchmark does) but not interpreter start-up. Use a broker database
of its own (e.g. ``redis://127.0.0.1:6379/12``): the workers take any unit sent there.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil

from api.cli.bench_ingest import tree_mb
from indexer.catalog import register_video
from indexer.job_progress import job_progress
from indexer.jobs import JobStore
from indexer.readback import evidence_counts
from indexer.worker import make_celery, submit_job
from vidkg.db import Database
from vidkg.settings import Settings


def run_on_workers(
    db: Database, settings: Settings, video: Path, stages: list[str], workers: int
) -> dict[str, Any]:
    """Ingest ``video`` on ``workers`` fresh worker processes; wall time and totals."""
    env = dict(os.environ, VIDKG_HOME=str(settings.home), VIDKG_BROKER_URL=settings.broker_url)
    env.pop("VIDKG_DATABASE_URL", None)
    threads = settings.indexer.threads or max(1, (os.cpu_count() or 1) // workers)
    argv = ["worker", "--concurrency", "1", "--threads", str(threads)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "api.cli", *argv],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for _ in range(workers)
    ]
    try:
        _wait_ready(settings, workers)
        reg = register_video(db.sessions, settings, video)
        t0 = time.perf_counter()
        job, _ = submit_job(db, settings, reg.video_id, stages)
        jobs = JobStore(db.sessions)
        peak_mb = 0.0
        while (progress := job_progress(db.sessions, jobs.get(job.id))).status in (
            "queued",
            "running",
        ):
            peak_mb = max(peak_mb, _tree_rss_mb(procs))
            time.sleep(0.5)
        wall = time.perf_counter() - t0
    finally:
        for proc in procs:
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=60)
    return {
        "workers": workers,
        "threads_per_worker": threads,
        "status": progress.status,
        "wall_s": round(wall, 2),
        "work_s": {name: round(st.work_s, 1) for name, st in progress.stages.items()},
        "workers_peak_rss_mb": round(peak_mb, 1),
        "counts": evidence_counts(db.sessions, reg.video_id),
        "errors": progress.errors,
    }


def _wait_ready(settings: Settings, workers: int, timeout: float = 180) -> None:
    app = make_celery(settings)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(app.control.ping(timeout=1.0) or []) >= workers:
            return
    raise RuntimeError(f"{workers} worker(s) did not answer within {timeout:.0f} s")


def _tree_rss_mb(procs: list[subprocess.Popen]) -> float:
    total = 0.0
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += tree_mb(psutil.Process(proc.pid))
    return total
