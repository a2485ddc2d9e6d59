"""Starting and steering ingest jobs from the API: the same job store as the CLI.

With ``VIDKG_BROKER_URL`` a new job's units go to the Celery workers at once; without
one the job is left queued and the runner process of ``vidkg serve`` (``api/runner.py``)
takes it, so upload → answer works with nothing else running.
"""

from __future__ import annotations

from api.problems import Problem
from indexer.job_progress import JobProgress, job_progress
from indexer.jobs import Job, JobStore
from indexer.plan import parse_stages
from vidkg.db import Database
from vidkg.settings import Settings


def start_job(
    db: Database, settings: Settings, video_id: int, stages: list[str] | None
) -> tuple[Job, bool]:
    """The video's new job (``True``), or its active one (``False``)."""
    try:
        chosen = parse_stages(stages, settings.indexer.stages)
    except ValueError as exc:
        raise Problem(422, str(exc)) from None
    if not chosen:
        raise Problem(422, "no stage to run")
    if settings.broker_url:
        from indexer.worker import BrokerUnreachable, submit_job

        try:
            return submit_job(db, settings, video_id, chosen)
        except BrokerUnreachable as exc:
            raise Problem(503, str(exc)) from None
    try:
        return JobStore(db.sessions).submit(video_id, chosen, settings.indexer.chunk_s)
    except LookupError as exc:
        raise Problem(404, str(exc)) from None


def retry_job(db: Database, settings: Settings, job_id: int, force: bool) -> Job:
    """Queue a finished job again (what is done stays done); with a broker, send it."""
    job = JobStore(db.sessions).retry(job_id, force=force)
    if settings.broker_url:
        from indexer.worker import BrokerUnreachable, resend_job

        try:
            resend_job(db, settings, job.id)
        except BrokerUnreachable as exc:
            raise Problem(503, str(exc)) from None
    return job


def progress(db: Database, job: Job) -> JobProgress:
    return job_progress(db.sessions, job)
