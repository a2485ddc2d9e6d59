"""Units that lost their worker or their message: what is known of them, whether one
is poison, and the ``unit_recoveries`` line written when one is taken back.

Shared by the periodic check (``indexer.recovery``) and by a worker that is handed a
unit another worker left unfinished (``JobStore.start``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from indexer.checkpoint_rows import end_job, upsert_checkpoint
from indexer.plan import DERIVED, FINALIZE, SPEECH, VISUAL, Unit
from vidkg.schema import IngestCheckpoint
from vidkg.settings import WorkerSettings

if TYPE_CHECKING:
    from indexer.jobs import Job

log = logging.getLogger(__name__)
ALL_STAGES = [*VISUAL, *SPEECH, *DERIVED]


class Cause(StrEnum):
    WORKER_LOST = "worker_lost"  # its heartbeat stopped
    MESSAGE_LOST = "message_lost"  # sent, never started, its queue empty


class Action(StrEnum):
    RESENT = "resent"
    TAKEN_OVER = "taken_over"  # by a worker the broker delivered it to again
    FAILED = "failed"  # poison


@dataclass(frozen=True)
class Recovery:
    job_id: int
    unit: Unit
    cause: Cause
    action: Action
    reason: str


@dataclass(frozen=True)
class LostUnit:
    job_id: int
    video_id: int
    unit: Unit
    stages: tuple[str, ...]
    cause: Cause
    worker: str | None
    silent_s: float


_LOSSES = text("""
    SELECT count(*) FROM unit_recoveries
    WHERE job_id = :job_id AND unit_kind = :kind AND chunk_index = :chunk
      AND cause = 'worker_lost'""")
_RECORD = text("""
    INSERT INTO unit_recoveries
        (video_id, job_id, unit_kind, chunk_index, cause, action, reason, worker, attempts)
    SELECT :video_id, :job_id, :kind, :chunk, :cause, :action, :reason, :worker,
           coalesce(max(attempts), 0)
    FROM ingest_checkpoints
    WHERE job_id = :job_id AND chunk_index = :chunk AND stage = ANY(:stages)""")


def record(session: Session, lost: LostUnit, action: Action, reason: str) -> Recovery:
    """Write one line of ``unit_recoveries`` and return it."""
    session.execute(
        _RECORD,
        {
            "video_id": lost.video_id,
            "job_id": lost.job_id,
            "kind": lost.unit.kind,
            "chunk": lost.unit.chunk,
            "cause": lost.cause.value,
            "action": action.value,
            "reason": reason,
            "worker": lost.worker,
            "stages": list(lost.stages),
        },
    )
    log.warning("job %s: %s %s: %s", lost.job_id, lost.unit, action.value, reason)
    return Recovery(lost.job_id, lost.unit, lost.cause, action, reason)


def is_poison(session: Session, lost: LostUnit, cfg: WorkerSettings) -> bool:
    """This loss of its worker would be the unit's ``max_unit_attempts``-th."""
    losses = session.execute(
        _LOSSES, {"job_id": lost.job_id, "kind": lost.unit.kind, "chunk": lost.unit.chunk}
    ).scalar_one()
    return lost.cause == Cause.WORKER_LOST and losses + 1 >= cfg.max_unit_attempts


def poison_reason(lost: LostUnit, cfg: WorkerSettings) -> str:
    return (
        f"poison: it lost its worker {cfg.max_unit_attempts} times (last {lost.worker}, "
        f"silent {lost.silent_s:.0f} s); not sent again"
    )


def lost_reason(lost: LostUnit) -> str:
    if lost.cause == Cause.WORKER_LOST:
        return f"worker {lost.worker} silent for {lost.silent_s:.0f} s (no heartbeat)"
    return f"sent {lost.silent_s:.0f} s ago, never started, its queue empty (message lost)"


def owner_alive(
    sessions: sessionmaker[Session], cfg: WorkerSettings, job_id: int, unit: Unit, worker: str
) -> bool:
    """Another worker runs this unit and is alive: its heartbeat is recent and moves
    within a few beats (a duplicate delivery, e.g. after RabbitMQ's consumer
    timeout). A heartbeat that stands still means its worker is gone."""
    query = select(func.max(IngestCheckpoint.heartbeat_at), func.now()).where(
        IngestCheckpoint.job_id == job_id,
        IngestCheckpoint.chunk_index == unit.chunk,
        IngestCheckpoint.stage.in_(unit.stages(ALL_STAGES)),
        IngestCheckpoint.status == "running",
        IngestCheckpoint.worker != worker,
    )
    with sessions() as s:
        first, now = s.execute(query).one()
    if first is None or (now - first).total_seconds() > cfg.heartbeat_timeout_s:
        return False
    deadline = time.monotonic() + 2.5 * cfg.heartbeat_s + 1
    while time.monotonic() < deadline:
        time.sleep(min(1.0, cfg.heartbeat_s / 2))
        with sessions() as s:
            beat, _ = s.execute(query).one()
        if beat is None or beat != first:
            return beat is not None  # it beat; or it finished meanwhile
    return False


def take_over(
    session: Session, cfg: WorkerSettings, job: Job, unit: Unit, todo: list[str], worker: str
) -> list[str]:
    """Stages of ``todo`` that another (silent) worker left running are this
    worker's now, recorded as taken over; or failed, when this loss makes the
    unit poison. Returns the stages to run."""
    left = session.execute(
        select(
            IngestCheckpoint.stage,
            IngestCheckpoint.worker,
            func.extract("epoch", func.now() - IngestCheckpoint.heartbeat_at),
        ).where(
            IngestCheckpoint.job_id == job.id,
            IngestCheckpoint.chunk_index == unit.chunk,
            IngestCheckpoint.stage.in_(todo),
            IngestCheckpoint.status == "running",
            IngestCheckpoint.worker != worker,
        )
    ).all()
    if not left:
        return todo
    lost = LostUnit(
        job.id,
        job.video_id,
        unit,
        tuple(r[0] for r in left),
        Cause.WORKER_LOST,
        left[0][1],
        float(left[0][2] or 0.0),
    )
    if not is_poison(session, lost, cfg):
        record(session, lost, Action.TAKEN_OVER, lost_reason(lost))
        return todo
    reason = poison_reason(lost, cfg)
    record(session, lost, Action.FAILED, reason)
    for name in lost.stages:
        upsert_checkpoint(session, job, unit, name, status="failed", error=reason)
    if unit.kind == FINALIZE:
        end_job(session, job, "failed", reason)
    return [n for n in todo if n not in lost.stages]
