"""Ingest jobs: their state lives in PostgreSQL, whoever runs them.

A job is one video's ingest: a stage list and a chunk plan. Its work is cut into units
(:class:`indexer.plan.Unit`). Which units are ready is read from the video's checkpoints
under a lock on the job row, so any number of workers may ask at once and each unit is
handed out once. Running a unit twice is harmless (a stage's write replaces its rows,
see ``store.py``), so every fault is handled by running again: nothing about a job is
kept in a broker or a result backend. Which units are ready: ``indexer.unit_states``.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from indexer.checkpoint_rows import delete_in_flight, end_job, upsert_checkpoint
from indexer.losses import owner_alive, take_over
from indexer.plan import FINALIZE, JOB_STEPS, Chunk, Unit, plan_chunks
from indexer.unit_states import UnitStates
from vidkg.schema import IngestCheckpoint, IngestJob, Video
from vidkg.settings import WorkerSettings

ACTIVE = ("queued", "running")
TERMINAL = ("succeeded", "failed", "cancelled")
Dispatch = Callable[[int, list[Unit]], None]  # (job id, units): send them to workers


class JobError(RuntimeError):
    """A request that does not fit the job's state, e.g. cancelling a finished job."""


class JobNotFound(LookupError):
    """No such job (never created, or deleted with its video)."""


@dataclass(frozen=True)
class Job:
    id: int
    video_id: int
    status: str
    stages: list[str]
    chunks: list[Chunk]
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @property
    def timeline_s(self) -> float:
        return self.chunks[-1].end_s if self.chunks else 0.0


def worker_name() -> str:
    """Who runs a unit, as recorded in its checkpoint: host and process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _job(row: IngestJob) -> Job:
    plan = (row.options or {}).get("chunks") or []
    return Job(
        id=row.id,
        video_id=row.video_id,
        status=row.status,
        stages=list(row.stages),
        chunks=[Chunk(i, a, b) for i, (a, b) in enumerate(plan)],
        error=row.error,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )


class JobStore:
    """Creates jobs, hands out their units, and records cancel, retry and the end."""

    def __init__(self, sessions: sessionmaker[Session], cfg: WorkerSettings | None = None) -> None:
        self.sessions = sessions
        self.cfg = cfg or WorkerSettings()

    # ---- reading --------------------------------------------------------------------

    def get(self, job_id: int) -> Job:
        with self.sessions() as s:
            row = s.get(IngestJob, job_id)
            if row is None:
                raise JobNotFound(f"no job {job_id}")
            return _job(row)

    def list(self, *, status: str | None = None, limit: int = 50) -> list[Job]:
        query = select(IngestJob).order_by(IngestJob.id.desc()).limit(limit)
        if status:
            query = query.where(IngestJob.status == status)
        with self.sessions() as s:
            return [_job(row) for row in s.scalars(query)]

    def page(
        self, *, status: str | None, video_id: int | None, limit: int, offset: int
    ) -> tuple[list[Job], int]:
        """Jobs newest first, filtered, one page; and how many match in all."""
        query = select(IngestJob)
        if status:
            query = query.where(IngestJob.status == status)
        if video_id is not None:
            query = query.where(IngestJob.video_id == video_id)
        with self.sessions() as s:
            total = s.scalar(select(func.count()).select_from(query.subquery()))
            rows = s.scalars(query.order_by(IngestJob.id.desc()).limit(limit).offset(offset))
            return [_job(row) for row in rows], int(total or 0)

    # ---- creating -------------------------------------------------------------------

    def submit(self, video_id: int, stages: list[str], chunk_s: float) -> tuple[Job, bool]:
        """The video's active job if it has one (``False``), else a new queued job.

        A new job keeps the chunk plan of the video's previous job: checkpoints are per
        chunk index, so a resumed ingest must cut the timeline the same way.
        """
        with self.sessions.begin() as s:
            video = s.execute(
                select(Video).where(Video.id == video_id).with_for_update()
            ).scalar_one_or_none()
            if video is None:
                raise LookupError(f"no video {video_id}")
            rows = s.scalars(
                select(IngestJob)
                .where(IngestJob.video_id == video.id)
                .order_by(IngestJob.id.desc())
            ).all()
            active = next((r for r in rows if r.status in ACTIVE), None)
            if active is not None:
                return _job(active), False
            previous = (rows[0].options or {}).get("chunks") if rows else None
            chunks = (
                [Chunk(i, a, b) for i, (a, b) in enumerate(previous)]
                if previous
                else plan_chunks(video, chunk_s)
            )
            row = IngestJob(
                video_id=video.id,
                status="queued",
                stages=stages,
                options={"chunks": [[c.start_s, c.end_s] for c in chunks], "chunk_s": chunk_s},
            )
            s.add(row)
            s.flush()
            s.execute(update(Video).where(Video.id == video.id).values(status="ingesting"))
            s.refresh(row)
            return _job(row), True

    # ---- handing out work -------------------------------------------------------------

    def claim(
        self,
        job_id: int,
        *,
        limit: int | None = None,
        adopt_in_flight: bool = False,
        dispatch: Dispatch | None = None,
    ) -> list[Unit]:
        """Mark the job's ready units pending and return them (at most ``limit``).

        ``dispatch`` is called with them before the transaction commits: a broker that
        cannot take them rolls the claim back, so a unit is never marked sent and lost.
        ``adopt_in_flight``: the caller runs the job alone (in-process), so units left
        pending or running by a process that died are its to redo.
        """
        with self.sessions.begin() as s:
            job = self.locked(s, job_id)
            if job.status not in ACTIVE:
                return []
            states = UnitStates(s, job, adopt_in_flight)
            units = states.ready()[:limit]
            for unit in units:
                for name in states.missing(unit):
                    upsert_checkpoint(s, job, unit, name, status="pending")
            if units and dispatch is not None:
                dispatch(job.id, units)
            return units

    def start(
        self, job_id: int, unit: Unit, worker: str, *, resumed: bool = False
    ) -> tuple[Job, list[str]] | None:
        """Mark the unit's unfinished stages running; return the job and them (``[]``:
        nothing to do, e.g. a redelivered unit that already finished, or one that a
        live worker runs). ``None``: the job is over (cancelled or finished), so the
        unit must not run. A unit another worker left running is taken over (or failed,
        when poison) and recorded; ``resumed``: the caller's own earlier try ended (a
        transient fault), so its rows are simply run again."""
        if not resumed and owner_alive(self.sessions, self.cfg, job_id, unit, worker):
            job = self.get(job_id)
            return (job, []) if job.status in ACTIVE else None
        with self.sessions.begin() as s:
            job = self.locked(s, job_id)
            if job.status not in ACTIVE:
                return None
            if job.status == "queued":
                s.execute(
                    update(IngestJob)
                    .where(IngestJob.id == job_id)
                    .values(status="running", started_at=text("now()"))
                )
            states = UnitStates(s, job, adopt_in_flight=True)
            if unit.kind == "derived" and not states.inputs_terminal(unit.chunk):
                # Sent early (a forced retry): give it back; claim sends it when ready.
                for name in unit.stages(job.stages):
                    delete_in_flight(s, job, name, unit.chunk)
                return job, []
            todo = states.missing(unit)
            if not resumed:
                todo = take_over(s, self.cfg, job, unit, todo, worker)
            for name in todo:
                upsert_checkpoint(s, job, unit, name, status="running", worker=worker)
            return job, todo

    def fail_unit(self, job_id: int, unit: Unit, error: str) -> None:
        """A unit that broke outside its stages (a bug, not bad input): its stages are
        failed with the reason, so the job can still end instead of waiting forever."""
        with self.sessions.begin() as s:
            job = self.locked(s, job_id)
            names = unit.stages(job.stages)
            states = UnitStates(s, job, adopt_in_flight=True)
            for name in names:
                if states.state(name, unit.chunk) != "terminal":
                    upsert_checkpoint(s, job, unit, name, status="failed", error=error[:2000])
            if unit.kind == FINALIZE:
                end_job(s, job, "failed", error)

    # ---- control ----------------------------------------------------------------------

    def cancel(self, job_id: int) -> Job:
        """No new unit of the job starts; units already running finish and keep their
        rows (each is one transaction). Pending units are withdrawn."""
        with self.sessions.begin() as s:
            job = self.locked(s, job_id)
            if job.status not in ACTIVE:
                raise JobError(f"job {job_id} is already {job.status}")
            s.execute(
                delete(IngestCheckpoint).where(
                    IngestCheckpoint.job_id == job_id, IngestCheckpoint.status == "pending"
                )
            )
            end_job(s, job, "cancelled", "cancelled by request; `vidkg jobs retry` resumes it")
        return self.get(job_id)

    def retry(self, job_id: int, *, force: bool = False) -> Job:
        """Queue a finished, failed or cancelled job again: what is done stays done, and
        failed units run again. ``force`` also re-sends an active job's in-flight units
        (after a broker lost its queue); running a unit twice is harmless."""
        with self.sessions.begin() as s:
            job = self.locked(s, job_id)
            if job.status in ACTIVE and not force:
                raise JobError(
                    f"job {job_id} is {job.status}; --force re-sends its unfinished units "
                    "(use it when a broker lost its queue)"
                )
            s.execute(
                delete(IngestCheckpoint).where(
                    IngestCheckpoint.job_id == job_id,
                    IngestCheckpoint.status.in_(("failed", "pending", "running")),
                    IngestCheckpoint.stage != "decode",
                )
            )
            s.execute(
                delete(IngestCheckpoint).where(
                    IngestCheckpoint.video_id == job.video_id,
                    IngestCheckpoint.stage.in_(JOB_STEPS),
                )
            )
            s.execute(  # elapsed time, ETA and the stall warning count from the retry
                update(IngestJob)
                .where(IngestJob.id == job_id)
                .values(status="queued", error=None, started_at=text("now()"), finished_at=None)
            )
            s.execute(update(Video).where(Video.id == job.video_id).values(status="ingesting"))
        return self.get(job_id)

    def abandon(self, job_id: int, exc: BaseException) -> None:
        """The in-process runner was interrupted: the job fails with why; its finished
        units are checkpointed and stay."""
        with self.sessions.begin() as s:
            job = self.locked(s, job_id)
            if job.status in ACTIVE:
                end_job(s, job, "failed", f"interrupted: {type(exc).__name__}: {exc}"[:500])

    def end(
        self, session: Session, job: Job, status: str, error: str | None, video_status: str
    ) -> None:
        """Record the job's outcome in ``session``'s transaction (finalize's)."""
        end_job(session, job, status, error, video_status)

    def locked(self, session: Session, job_id: int) -> Job:
        row = session.execute(
            select(IngestJob).where(IngestJob.id == job_id).with_for_update()
        ).scalar_one_or_none()
        if row is None:
            raise JobNotFound(f"no job {job_id}")
        return _job(row)
