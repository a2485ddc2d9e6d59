"""Jobs that heal themselves: heartbeats of running units, and taking back lost ones.

A broker alone recovers a dead worker's unit late or never: Redis delivers an
unacknowledged message again only after its visibility timeout (an hour by default), and
a message lost with the broker's memory (restarted without its append-only file, a
purged queue) is gone for good. Job state is in PostgreSQL, so lost work is found there:

- a running unit's checkpoints carry a heartbeat, written every ``heartbeat_s`` by a
  thread of its own (:class:`Heartbeat`), so a unit deep in a model still beats;
- every worker runs :class:`RecoveryLoop`; one at a time (a PostgreSQL advisory lock)
  takes back units whose heartbeat is older than ``heartbeat_timeout_s`` (their worker
  died) and units sent longer than ``pending_timeout_s`` ago that nobody started while
  their queue is empty (their message is lost), and sends them again;
- a unit that lost its worker ``max_unit_attempts`` times is poison: it is failed with
  the reason, and the rest of its job goes on.

Running a unit twice is harmless (a stage's write replaces its rows under a lock), so a
unit taken back by mistake costs time, never rows. Every taking back is recorded in
``unit_recoveries``, which ``vidkg jobs show`` prints.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from indexer.faults import is_transient
from indexer.jobs import Dispatch, JobStore
from indexer.losses import (
    Action,
    Cause,
    LostUnit,
    Recovery,
    is_poison,
    lost_reason,
    poison_reason,
    record,
)
from indexer.plan import FINALIZE, Unit, unit_of
from vidkg.settings import WorkerSettings

log = logging.getLogger(__name__)

QueueSize = Callable[[str], int]  # messages waiting in a queue of the broker


_BEAT = text("""
    UPDATE ingest_checkpoints SET heartbeat_at = now()
    WHERE job_id = :job_id AND chunk_index = :chunk AND stage = ANY(:stages)
      AND status = 'running' AND worker = :worker""")


class Heartbeat:
    """Writes a running unit's heartbeat every ``every_s`` from a daemon thread, until
    the ``with`` block ends. A failed write (the database is away) is tried again at
    the next beat: the unit itself decides what an outage means for it."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        job_id: int,
        chunk: int,
        stages: list[str],
        worker: str,
        every_s: float,
    ) -> None:
        self.sessions = sessions
        self.params = {"job_id": job_id, "chunk": chunk, "stages": stages, "worker": worker}
        self.every_s = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="vidkg-heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=self.every_s + 5)

    def _run(self) -> None:
        failing = False
        while not self._stop.wait(self.every_s):
            try:
                with self.sessions.begin() as s:
                    s.execute(_BEAT, self.params)
                failing = False
            except Exception as exc:  # noqa: BLE001 - beat again next time
                if not failing:
                    log.warning("heartbeat of job %s not written: %s", self.params["job_id"], exc)
                failing = True


_TRY_LOCK = text("SELECT pg_try_advisory_xact_lock(hashtextextended('vidkg:recovery', 0))")
_LOST = text("""
    SELECT c.job_id, c.video_id, c.stage, c.chunk_index, c.status, c.worker,
           extract(epoch FROM now() - coalesce(c.heartbeat_at, c.started_at, j.created_at))
               AS silent_s
    FROM ingest_checkpoints c
    JOIN ingest_jobs j ON j.id = c.job_id AND j.status IN ('queued', 'running')
    WHERE (c.status = 'running' AND :running
           AND coalesce(c.heartbeat_at, c.started_at, j.created_at)
               < now() - make_interval(secs => :running_s))
       OR (c.status = 'pending'
           AND coalesce(c.heartbeat_at, j.created_at)
               < now() - make_interval(secs => :pending_s))
    ORDER BY c.job_id, c.chunk_index, c.stage""")
_TAKE_BACK = text("""
    UPDATE ingest_checkpoints
    SET status = :status, worker = NULL, heartbeat_at = now(), error = :error,
        finished_at = CASE WHEN :status = 'failed' THEN now() END
    WHERE job_id = :job_id AND chunk_index = :chunk AND stage = ANY(:stages)
      AND status IN ('pending', 'running')
      AND coalesce(heartbeat_at, started_at, '-infinity'::timestamptz)
          < now() - make_interval(secs => :bound_s)
    RETURNING stage""")
_STALLED = text("""
    SELECT j.id FROM ingest_jobs j
    WHERE j.status IN ('queued', 'running')
      AND NOT EXISTS (SELECT FROM ingest_checkpoints c WHERE c.job_id = j.id
                      AND c.status IN ('pending', 'running'))
      AND coalesce((SELECT max(greatest(c.finished_at, c.heartbeat_at, c.started_at))
                    FROM ingest_checkpoints c WHERE c.job_id = j.id),
                   j.started_at, j.created_at)
          < now() - make_interval(secs => :pending_s)
    ORDER BY j.id""")


def find_lost(session: Session, cfg: WorkerSettings, *, workers: bool = True) -> list[LostUnit]:
    """Units whose worker stopped beating (``workers``) or whose message never arrived,
    one entry per unit (a unit's stages are sent and started together)."""
    rows = session.execute(
        _LOST,
        {
            "running": workers,
            "running_s": cfg.heartbeat_timeout_s,
            "pending_s": cfg.pending_timeout_s,
        },
    ).all()
    units: dict[tuple[int, Unit], LostUnit] = {}
    for r in rows:
        unit = unit_of(r.stage, r.chunk_index)
        cause = Cause.WORKER_LOST if r.status == "running" else Cause.MESSAGE_LOST
        known = units.get((r.job_id, unit))
        stages = (*known.stages, r.stage) if known else (r.stage,)
        if known and known.cause == Cause.WORKER_LOST:
            cause = known.cause
        units[(r.job_id, unit)] = LostUnit(
            r.job_id, r.video_id, unit, stages, cause, r.worker, float(r.silent_s)
        )
    return list(units.values())


def _take_back(session: Session, lost: LostUnit, cfg: WorkerSettings) -> Recovery | None:
    """Mark one lost unit pending again (or failed, when poison), if it still is lost."""
    poison = is_poison(session, lost, cfg)
    reason = poison_reason(lost, cfg) if poison else lost_reason(lost)
    bound = cfg.heartbeat_timeout_s if lost.cause == Cause.WORKER_LOST else cfg.pending_timeout_s
    taken = session.execute(
        _TAKE_BACK,
        {
            "status": "failed" if poison else "pending",
            "error": reason if poison else None,
            "job_id": lost.job_id,
            "chunk": lost.unit.chunk,
            "stages": list(lost.stages),
            "bound_s": bound,
        },
    ).all()
    if not taken:
        return None  # it started or beat meanwhile
    return record(session, lost, Action.FAILED if poison else Action.RESENT, reason)


def recover(
    sessions: sessionmaker[Session],
    cfg: WorkerSettings,
    dispatch: Dispatch,
    queued: QueueSize,
    *,
    workers: bool = True,
) -> list[Recovery]:
    """One pass: take back lost units and send them again, by one process at a time
    (others find the lock taken and return ``[]``). ``workers=False`` leaves running
    units alone (the database was just away: heartbeats may be late)."""
    with sessions.begin() as s:
        if not s.scalar(_TRY_LOCK):
            return []
        lost = [
            u
            for u in find_lost(s, cfg, workers=workers)
            if u.cause == Cause.WORKER_LOST or not _queue_busy(u, cfg, queued)
        ]
        done = [r for u in lost if (r := _take_back(s, u, cfg)) is not None]
        for job_id in sorted({r.job_id for r in done}):
            units = [r.unit for r in done if r.job_id == job_id and r.action == Action.RESENT]
            if units:
                dispatch(job_id, units)  # a broker that refuses rolls it all back
            for r in done:
                if r.job_id == job_id and r.unit.kind == FINALIZE and r.action == Action.FAILED:
                    store = JobStore(sessions, cfg)
                    store.end(s, store.locked(s, job_id), "failed", r.reason, "failed")
        stalled = [row.id for row in s.execute(_STALLED, {"pending_s": cfg.pending_timeout_s})]
    jobs = JobStore(sessions, cfg)
    for job_id in sorted({r.job_id for r in done if r.action == Action.FAILED} | set(stalled)):
        jobs.claim(job_id, dispatch=dispatch)  # what comes after a poison unit, or never sent
    return done


def _queue_busy(lost: LostUnit, cfg: WorkerSettings, queued: QueueSize) -> bool:
    """Messages still wait in the unit's queue: its message may be among them."""
    return queued(cfg.routes.get(lost.unit.kind, "default")) > 0


class RecoveryLoop:
    """Every worker's periodic check for lost units (a daemon thread).

    Running units are judged only once the database has been reachable from here for a
    whole ``heartbeat_timeout_s``: after an outage, live units need that long to beat
    again. A pass that fails (database or broker away) is tried again next time."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        cfg: WorkerSettings,
        dispatch: Dispatch,
        queued: QueueSize,
    ) -> None:
        self.sessions = sessions
        self.cfg = cfg
        self.dispatch = dispatch
        self.queued = queued
        self.up_since = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="vidkg-recovery", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def once(self) -> list[Recovery]:
        settled = time.monotonic() - self.up_since >= self.cfg.heartbeat_timeout_s
        try:
            return recover(self.sessions, self.cfg, self.dispatch, self.queued, workers=settled)
        except Exception as exc:
            if not is_transient(exc):
                raise
            self.up_since = time.monotonic()
            log.warning("recovery check skipped: %s", exc)
            return []

    def _run(self) -> None:
        interval = self.cfg.recovery_interval_s
        while not self._stop.wait(interval * random.uniform(0.8, 1.2)):
            try:
                self.once()
            except Exception:  # a bug must not stop the worker; it is logged
                log.exception("recovery check failed")
