"""A job's progress as the CLI and the API show it: per stage, errors, ETA.

Everything comes from PostgreSQL (the ``v_job_progress`` view and the checkpoints), so
any process can follow a job that runs on other machines.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from indexer.jobs import Job
from vidkg.schema import IngestCheckpoint, Video

_ACTIVITY = text("""
    SELECT now(), max(greatest(started_at, finished_at))
    FROM ingest_checkpoints WHERE job_id = :job_id""")
_PROGRESS = text("""
    SELECT stage, chunks_done, chunks_failed, chunks_skipped, chunks_running,
           chunks_pending, chunks_total, seconds_done, work_s, rows_written
    FROM v_job_progress WHERE job_id = :job_id""")
_RECOVERIES = text("""
    SELECT unit_kind AS unit, chunk_index AS chunk, cause, action, reason, worker, attempts,
           created_at
    FROM unit_recoveries WHERE job_id = :job_id ORDER BY id""")


@dataclass
class StageProgress:
    chunks_total: int
    chunks_done: int
    chunks_failed: int
    chunks_skipped: int
    chunks_running: int
    chunks_pending: int
    seconds_done: float  # of timeline, done, skipped or failed
    work_s: float  # seconds workers spent on it in this job
    rows_written: int


@dataclass
class JobProgress:
    job_id: int
    video_id: int
    file_name: str
    status: str
    stages: dict[str, StageProgress]
    timeline_s: float
    created_at: str
    started_at: str | None
    finished_at: str | None
    elapsed_s: float | None
    eta_s: float | None
    idle_s: float  # since a unit of the job last started or ended (or it was queued)
    error: str | None
    errors: list[dict[str, Any]] = field(default_factory=list)
    running: list[dict[str, Any]] = field(default_factory=list)
    recoveries: list[dict[str, Any]] = field(default_factory=list)  # units taken back

    @property
    def fraction(self) -> float:
        """Share of (stage, second of timeline) pairs finished."""
        total = self.timeline_s * len(self.stages)
        done = sum(min(p.seconds_done, self.timeline_s) for p in self.stages.values())
        return done / total if total > 0 else 1.0

    @property
    def over(self) -> bool:
        return self.status in ("succeeded", "failed", "cancelled")

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["fraction_done"] = round(self.fraction, 4)
        return data


def job_progress(sessions: sessionmaker[Session], job: Job) -> JobProgress:
    with sessions() as s:
        stages = {
            row.stage: StageProgress(**{k: v for k, v in row._mapping.items() if k != "stage"})
            for row in s.execute(_PROGRESS, {"job_id": job.id})
        }
        file_name = s.execute(select(Video.file_name).where(Video.id == job.video_id)).scalar()
        checkpoints = s.execute(
            select(
                IngestCheckpoint.stage,
                IngestCheckpoint.chunk_index,
                IngestCheckpoint.start_s,
                IngestCheckpoint.end_s,
                IngestCheckpoint.status,
                IngestCheckpoint.error,
                IngestCheckpoint.worker,
                IngestCheckpoint.attempts,
            )
            .where(
                IngestCheckpoint.video_id == job.video_id,
                IngestCheckpoint.status.in_(("failed", "running")),
            )
            .order_by(IngestCheckpoint.start_s, IngestCheckpoint.stage)
        ).all()
        now, last = s.execute(_ACTIVITY, {"job_id": job.id}).one()
        recoveries = [
            {**r._asdict(), "created_at": _iso(r.created_at)}
            for r in s.execute(_RECOVERIES, {"job_id": job.id})
        ]
    ordered = {name: stages[name] for name in job.stages if name in stages}
    errors = [
        {
            "stage": c.stage,
            "chunk": c.chunk_index,
            "start_s": c.start_s,
            "end_s": c.end_s,
            "error": c.error,
        }
        for c in checkpoints
        if c.status == "failed"
    ]
    running = [
        {"stage": c.stage, "chunk": c.chunk_index, "worker": c.worker, "attempts": c.attempts}
        for c in checkpoints
        if c.status == "running"
    ]
    progress = JobProgress(
        job_id=job.id,
        video_id=job.video_id,
        file_name=file_name or "",
        status=job.status,
        stages=ordered,
        timeline_s=job.timeline_s,
        created_at=_iso(job.created_at),
        started_at=_iso(job.started_at),
        finished_at=_iso(job.finished_at),
        elapsed_s=None,
        eta_s=None,
        idle_s=round(
            (now - max(filter(None, (last, job.started_at, job.created_at)))).total_seconds(), 1
        ),
        error=job.error,
        errors=errors,
        running=running if job.status in ("queued", "running") else [],
        recoveries=recoveries,
    )
    if job.started_at is not None:
        end = job.finished_at or now
        progress.elapsed_s = round((end - job.started_at).total_seconds(), 1)
        f = progress.fraction
        if not progress.over and f > 0:
            progress.eta_s = round(progress.elapsed_s * (1 - f) / f, 1)
    return progress


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat(timespec="seconds") if moment else None
