"""The background process of ``vidkg serve``: without a broker it runs queued jobs (one
child process that loads the models once and runs them in order, so an upload through
the API is indexed with nothing else running); always, it re-sends webhook deliveries
that a crashed process left pending.

It runs jobs exactly as ``vidkg ingest`` does in-process (``Pipeline.run_job``): every
unit is checkpointed, a cancel stops the job before its next unit, and a job whose
runner was stopped is failed with why and resumes with ``retry``. With a broker set, the
Celery workers run the jobs and this process only sweeps webhooks.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from types import FrameType

from sqlalchemy import select

from vidkg.db import Database
from vidkg.schema import IngestJob
from vidkg.settings import Settings

log = logging.getLogger(__name__)


class Stop(Exception):
    """SIGTERM: leave the job loop (the running job is marked interrupted)."""


def _stop(signum: int, frame: FrameType | None) -> None:
    raise Stop(f"signal {signum}")


def next_job(db: Database) -> int | None:
    """The oldest queued job."""
    with db.sessions() as s:
        return s.scalar(
            select(IngestJob.id).where(IngestJob.status == "queued").order_by(IngestJob.id).limit(1)
        )


SWEEP_EVERY_S = 60.0


def run_forever(settings: Settings, run_jobs: bool) -> None:
    """The runner process's body: poll for queued jobs (``run_jobs``), run each to its
    end; between jobs, sweep pending webhook deliveries now and then."""
    import time

    from indexer.models import ModelRegistry
    from indexer.pipeline import Pipeline
    from indexer.webhooks import deliver_pending
    from vidkg.db import open_database
    from vidkg.logs import configure_logging

    configure_logging(settings.log_level, settings.home)
    signal.signal(signal.SIGTERM, _stop)
    db = open_database(settings)
    pipeline: Pipeline | None = None
    swept = 0.0
    try:
        while True:
            if time.monotonic() - swept > SWEEP_EVERY_S:
                _sweep(deliver_pending, db, settings)
                swept = time.monotonic()
            job_id = next_job(db) if run_jobs else None
            if job_id is None:
                time.sleep(settings.api.job_poll_s)
                continue
            if pipeline is None:
                registry = ModelRegistry(settings.indexer, settings.model_cache_dir)
                pipeline = Pipeline(db, settings, registry)
            log.warning("runner: job %s", job_id)
            try:
                pipeline.run_job(job_id)
            except Stop:
                raise
            except Exception:  # a broken job must not stop the runner
                log.exception("runner: job %s failed", job_id)
    except Stop:
        return
    finally:
        db.dispose()


def _sweep(deliver: Callable[..., object], db: Database, settings: Settings) -> None:
    try:
        deliver(db, settings)
    except Exception:  # noqa: BLE001 - the next sweep tries again
        log.warning("runner: webhook sweep failed", exc_info=True)


def start_runner(settings: Settings, run_jobs: bool) -> BaseProcess:
    """Start the runner as a child process (spawned: no state shared with the server)."""
    process = multiprocessing.get_context("spawn").Process(
        target=run_forever, args=(settings, run_jobs), name="vidkg-runner", daemon=True
    )
    process.start()
    return process
