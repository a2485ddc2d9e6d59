"""The rows that record a job's progress: one checkpoint per (stage, chunk) and the
job's and its video's outcome. Written by ``JobStore`` (hand-out, start, cancel) and by
``indexer.losses`` (a unit taken over from a silent worker), always inside the caller's
transaction, which holds the job row's lock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import delete, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from indexer.plan import JOB_STEPS, Unit
from vidkg.schema import IngestCheckpoint, IngestJob, Video

if TYPE_CHECKING:
    from indexer.jobs import Job


def upsert_checkpoint(
    session: Session,
    job: Job,
    unit: Unit,
    stage: str,
    *,
    status: str,
    worker: str | None = None,
    error: str | None = None,
) -> None:
    """Write one (stage, chunk) checkpoint of the job: pending (sent: its heartbeat is
    when), running (started now, one more attempt), or failed with ``error``."""
    if stage in JOB_STEPS:
        start_s, end_s = 0.0, job.timeline_s
    else:
        chunk = job.chunks[unit.chunk]
        start_s, end_s = chunk.start_s, chunk.end_s
    values = dict(
        video_id=job.video_id,
        job_id=job.id,
        stage=stage,
        chunk_index=unit.chunk,
        start_s=start_s,
        end_s=end_s,
        status=status,
        worker=worker,
        error=error,
    )
    running = status == "running"
    stmt = pg_insert(IngestCheckpoint).values(
        **values,
        attempts=1 if running else 0,
        started_at=text("now()") if running else None,
        finished_at=text("now()") if status == "failed" else None,
        heartbeat_at=text("now()") if status in ("pending", "running") else None,
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["video_id", "stage", "chunk_index"],
        set_={
            **{k: stmt.excluded[k] for k in ("job_id", "start_s", "end_s", "status", "worker")},
            "error": stmt.excluded.error,
            "attempts": IngestCheckpoint.attempts + (1 if running else 0),
            "started_at": stmt.excluded.started_at,
            "finished_at": stmt.excluded.finished_at,
            "heartbeat_at": stmt.excluded.heartbeat_at,
        },
    )
    session.execute(stmt)


def delete_in_flight(session: Session, job: Job, stage: str, chunk: int) -> None:
    """Withdraw the job's pending or running checkpoint of (stage, chunk)."""
    session.execute(
        delete(IngestCheckpoint).where(
            IngestCheckpoint.video_id == job.video_id,
            IngestCheckpoint.stage == stage,
            IngestCheckpoint.chunk_index == chunk,
            IngestCheckpoint.job_id == job.id,
            IngestCheckpoint.status.in_(("pending", "running")),
        )
    )


def end_job(
    session: Session, job: Job, status: str, error: str | None, video_status: str | None = None
) -> None:
    """The job's outcome, and its video's: ``cancelled`` or ``failed`` unless given."""
    session.execute(
        update(IngestJob)
        .where(IngestJob.id == job.id)
        .values(status=status, error=error, finished_at=text("now()"))
    )
    session.execute(
        update(Video)
        .where(Video.id == job.video_id)
        .values(status=video_status or status, error=error, updated_at=text("now()"))
    )
