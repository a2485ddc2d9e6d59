"""The Celery application: thin task wrappers over the functions the in-process mode calls.

One task does the work: ``vidkg.run_unit(job_id, kind, chunk)`` runs one unit of a job
(:meth:`indexer.pipeline.Pipeline.run_unit`) and then hands out whatever that made ready
(:meth:`indexer.jobs.JobStore.claim`). Units go to queues by resource (settings
``worker.routes``), so machines can specialise. Job state is in PostgreSQL; the broker
only carries messages, and losing or repeating one is recovered by running the unit
again, which is idempotent.

Reliability settings, and why:

- ``acks_late`` + ``reject_on_worker_lost``: a message is acknowledged when its unit has
  finished, so a worker killed mid-chunk leaves it to be delivered again.
- ``visibility_timeout`` (Redis): how long an unacknowledged message waits before
  redelivery; above the longest unit. Recovery does not wait for it: every worker runs
  a periodic check (``indexer.recovery``) that takes back units whose heartbeat stopped
  or whose message was lost, and sends them again.
- ``task_soft_time_limit`` / ``task_time_limit``: a unit that runs too long stops and
  fails with the reason; one that does not even stop is killed with its pool process a
  minute later and taken back like any lost unit. Below RabbitMQ's ``consumer_timeout``
  by default, so a unit is acknowledged before RabbitMQ would close its channel (which
  stops a Celery worker for good).
- Retries with exponential backoff for transient faults (``indexer.faults``); none for
  bad input, which fails the unit with its reason.
- Publishing retries while the broker is briefly away (``publish_timeout_s``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import kombu.exceptions
from celery import Celery
from celery.signals import worker_ready, worker_shutdown

from indexer.catalog import register_video
from indexer.faults import OUT_OF_TIME, is_transient, out_of_time
from indexer.jobs import Dispatch, Job, JobNotFound, JobStore
from indexer.models import ModelRegistry
from indexer.plan import IngestReport, Progress, Unit
from indexer.recovery import RecoveryLoop
from vidkg.db import Database, open_database
from vidkg.settings import Settings

log = logging.getLogger(__name__)
RUN_UNIT = "vidkg.run_unit"


class BrokerNotConfigured(RuntimeError):
    pass


def make_celery(settings: Settings) -> Celery:
    if not settings.broker_url:
        raise BrokerNotConfigured(
            "VIDKG_BROKER_URL is not set (e.g. redis://127.0.0.1:6379/0 or "
            "amqp://guest:guest@127.0.0.1:5672//); without it vidkg ingests in-process"
        )
    w = settings.worker
    app = Celery("vidkg", broker=settings.broker_url)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,  # a long unit never holds a second one hostage
        task_default_queue="default",
        task_ignore_result=True,  # job state lives in PostgreSQL, not in a result backend
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,  # a worker waits for its broker forever
        broker_transport_options={
            "visibility_timeout": w.visibility_timeout_s,
            # Redis: look for messages of vanished workers every tenth of the timeout.
            "unacked_restore_interval": max(1.0, min(60.0, w.visibility_timeout_s / 10)),
            "unacked_restore_throttle": 1,
        },
        task_publish_retry=True,
        task_publish_retry_policy={
            "max_retries": max(1, int(w.publish_timeout_s)),
            "interval_start": 0,
            "interval_step": 1,
            "interval_max": 1,
        },
        worker_cancel_long_running_tasks_on_connection_loss=False,
        worker_hijack_root_logger=False,
        # Soft: the unit stops and fails with a reason; hard (a minute on): its process.
        task_soft_time_limit=w.unit_time_limit_s,
        task_time_limit=w.unit_time_limit_s + 60,
    )
    context = WorkerContext(settings)

    @app.task(name="vidkg.register_video")
    def register(path: str) -> dict[str, Any]:
        reg = register_video(context.db().sessions, settings, Path(path))
        return {"video_id": reg.video_id, "created": reg.created}

    @app.task(name=RUN_UNIT, bind=True, max_retries=w.max_retries)
    def run_unit(self: Any, job_id: int, kind: str, chunk: int) -> None:
        try:
            unit = Unit(chunk, kind)
            resumed = self.request.retries > 0  # this message's earlier try met a fault
            context.run(job_id, unit, celery_dispatch(app, settings), resumed=resumed)
        except Exception as exc:
            if not is_transient(exc):
                raise
            wait = min(w.retry_backoff_max_s, 2.0 ** (self.request.retries + 1))
            log.warning("job %s %s %s: %s; retry in %.0f s", job_id, kind, chunk, exc, wait)
            raise self.retry(exc=exc, countdown=wait * random.uniform(0.8, 1.2)) from exc

    return app


def recover_in_worker(app: Celery, settings: Settings) -> None:
    """Make this ``vidkg worker`` (its main process) run the periodic check for lost
    units from the moment it is ready until it shuts down. Its database handle is its
    own: pool processes forked later drop the inherited connections unused."""
    loop: list[RecoveryLoop] = []

    @worker_ready.connect(weak=False)
    def start(**_: Any) -> None:
        db = open_database(settings)
        os.register_at_fork(after_in_child=lambda: db.engine.dispose(close=False))
        check = RecoveryLoop(
            db.sessions,
            settings.worker,
            celery_dispatch(app, settings),
            lambda queue: queue_size(app, queue),
        )
        check.start()
        loop.append(check)

    @worker_shutdown.connect(weak=False)
    def stop(**_: Any) -> None:
        for check in loop:
            check.stop()


def queue_size(app: Celery, queue: str) -> int:
    """Messages waiting in ``queue`` (not those a worker holds); a queue that does not
    exist holds none. Redis and RabbitMQ alike, through a passive declare."""
    with app.connection_for_write() as conn:
        channel = conn.channel()
        try:
            return int(channel.queue_declare(queue=queue, passive=True).message_count)
        except kombu.exceptions.ChannelError:
            return 0
        finally:
            with contextlib.suppress(Exception):
                channel.close()


def celery_dispatch(app: Celery, settings: Settings) -> Dispatch:
    """Send units as ``vidkg.run_unit`` tasks, each to its kind's queue."""
    routes = settings.worker.routes

    def send(job_id: int, units: list[Unit]) -> None:
        for unit in units:
            queue = routes.get(unit.kind, "default")
            app.send_task(RUN_UNIT, args=[job_id, unit.kind, unit.chunk], queue=queue)

    return send


class BrokerUnreachable(RuntimeError):
    """The job is stored but its units could not be sent; sending again is safe."""


def submit_job(
    db: Database, settings: Settings, video_id: int, stages: list[str]
) -> tuple[Job, bool]:
    """Create the video's job (or find its active one) and send its ready units to the
    workers. ``False``: the video already had an active job, which is returned."""
    job, created = JobStore(db.sessions).submit(video_id, stages, settings.indexer.chunk_s)
    resend_job(db, settings, job.id)
    return job, created


def resend_job(db: Database, settings: Settings, job_id: int) -> None:
    """Send a job's ready units to the workers. A claim that cannot be sent is rolled
    back, so after BrokerUnreachable the units are still there to send."""
    try:
        JobStore(db.sessions).claim(
            job_id, dispatch=celery_dispatch(make_celery(settings), settings)
        )
    except kombu.exceptions.OperationalError as exc:
        raise BrokerUnreachable(
            f"broker {settings.broker_url} unreachable ({exc}); job {job_id} is saved with "
            f"nothing sent: `vidkg jobs retry {job_id} --force` sends it once the broker is up"
        ) from exc


@dataclass
class WorkerContext:
    """What a worker process holds for its whole life: one database handle and one set
    of models, created by the first task (after the pool forks), reused by every task."""

    settings: Settings
    _db: Database | None = field(default=None, repr=False)
    _pipeline: Any = field(default=None, repr=False)

    def db(self) -> Database:
        if self._db is None:
            self._db = open_database(self.settings)
        return self._db

    def pipeline(self) -> Any:
        if self._pipeline is None:
            from indexer.pipeline import Pipeline  # heavy imports: only in workers that run units

            registry = ModelRegistry(self.settings.indexer, self.settings.model_cache_dir)
            self._pipeline = Pipeline(self.db(), self.settings, registry)
        return self._pipeline

    def run(self, job_id: int, unit: Unit, dispatch: Dispatch, *, resumed: bool = False) -> None:
        """Run the unit, then send what became ready."""
        try:
            self.run_here(job_id, unit, resumed=resumed)
        except JobNotFound as exc:  # deleted with its video while the message waited
            log.warning("job %s: %s dropped: %s", job_id, unit, exc)
            return
        JobStore(self.db().sessions, self.settings.worker).claim(job_id, dispatch=dispatch)

    def run_here(
        self, job_id: int, unit: Unit, progress: Progress | None = None, *, resumed: bool = False
    ) -> IngestReport | None:
        """Run the unit in this process (a Celery task, or a child of ``indexer.local_pool``).
        A unit that breaks for a reason that is not transient is failed with it, so its
        job still ends; transient faults and JobNotFound are the caller's."""
        try:
            return self.pipeline().run_unit(job_id, unit, progress=progress, resumed=resumed)
        except JobNotFound:
            raise
        except Exception as exc:
            if is_transient(exc):
                raise
            jobs = JobStore(self.db().sessions, self.settings.worker)
            if out_of_time(exc):
                log.error("job %s: %s %s", job_id, unit, OUT_OF_TIME)
                jobs.fail_unit(job_id, unit, OUT_OF_TIME)
            else:
                log.exception("job %s: %s failed", job_id, unit)
                jobs.fail_unit(job_id, unit, f"{type(exc).__name__}: {exc}")
        return None
