"""How one job sees its video's checkpoints, and which of its units are ready.

Per (stage, chunk) a checkpoint is, for a job: *terminal* (done or skipped by any job,
or failed in this job), *in flight* (pending or running in this job) or *missing*
(no row, a failure of an earlier job, work an earlier job left half-way). A unit is
ready when it has missing stages and its inputs are terminal; the job steps (``graph``,
then ``finalize``) are ready in turn when everything before them is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from indexer.plan import CHUNK_KINDS, DERIVED, JOB_STEPS, SPEECH, VISUAL, Unit
from vidkg.schema import IngestCheckpoint

if TYPE_CHECKING:
    from indexer.jobs import Job


class UnitStates:
    """The job's view of its video's checkpoints: terminal, in flight or missing."""

    def __init__(self, session: Session, job: Job, adopt_in_flight: bool) -> None:
        self.job = job
        self.adopt = adopt_in_flight
        rows = session.execute(
            select(
                IngestCheckpoint.stage,
                IngestCheckpoint.chunk_index,
                IngestCheckpoint.status,
                IngestCheckpoint.job_id,
            ).where(IngestCheckpoint.video_id == job.video_id)
        )
        self.rows = {(stage, idx): (status, owner) for stage, idx, status, owner in rows}

    def state(self, stage: str, chunk: int) -> str:
        status, owner = self.rows.get((stage, chunk), (None, None))
        mine = owner == self.job.id
        if stage in JOB_STEPS:  # every job builds its graph and finalizes for itself
            if mine and status in ("done", "failed"):
                return "terminal"
        elif status in ("done", "skipped") or (mine and status == "failed"):
            return "terminal"
        if mine and status in ("pending", "running") and not self.adopt:
            return "in_flight"
        return "missing"

    def missing(self, unit: Unit) -> list[str]:
        names = unit.stages(self.job.stages)
        return [n for n in names if self.state(n, unit.chunk) == "missing"]

    def inputs_terminal(self, chunk: int) -> bool:
        inputs = [s for s in self.job.stages if s in VISUAL or s in SPEECH]
        return all(self.state(s, chunk) == "terminal" for s in inputs)

    def ready(self) -> list[Unit]:
        """Units with missing work whose inputs are complete, chunk by chunk."""
        ready: list[Unit] = []
        for chunk in self.job.chunks:
            for kind in CHUNK_KINDS:
                unit = Unit(chunk.index, kind)
                if not self.missing(unit):
                    continue
                if kind == "derived" and not self.inputs_terminal(chunk.index):
                    continue
                ready.append(unit)
        if ready or not self.job.chunks:
            return ready
        stages = [s for s in self.job.stages if s in VISUAL + SPEECH + DERIVED]
        everything = all(
            self.state(s, c.index) == "terminal" for c in self.job.chunks for s in stages
        )
        if not everything:
            return []
        for step in JOB_STEPS:  # graph, then finalize: one at a time
            state = self.state(step, 0)
            if state != "terminal":
                return [Unit(0, step)] if state == "missing" else []
        return []
