"""The job state machine in PostgreSQL: which units are handed out, when, and once.

Stage results are recorded through the real write path's checkpoint (``store.mark``);
no model runs here, so these tests are about the bookkeeping alone.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import text

from indexer.catalog import register_video
from indexer.jobs import JobError, JobStore
from indexer.plan import Unit
from indexer.store import EvidenceStore
from tests.support import SAMPLE
from vidkg.db import Database
from vidkg.settings import Settings

STAGES = ["scenes", "asr", "caption"]


@pytest.fixture
def jobs_and_video(db: Database, settings: Settings) -> tuple[JobStore, int, EvidenceStore]:
    video_id = register_video(db.sessions, settings, SAMPLE).video_id
    return JobStore(db.sessions), video_id, EvidenceStore(db.sessions, video_id, settings.home)


def _finish(store: EvidenceStore, jobs: JobStore, job_id: int, unit: Unit) -> None:
    """What a worker does: start the unit, then record each of its stages done."""
    job, todo = jobs.start(job_id, unit, "test:1")
    for name in todo:
        chunk = job.chunks[unit.chunk]
        store.mark(name, chunk.key, "done", job_id=job_id)


def test_units_come_in_dependency_order_and_once(jobs_and_video) -> None:
    jobs, video_id, store = jobs_and_video
    job, created = jobs.submit(video_id, STAGES, chunk_s=20)
    assert created and len(job.chunks) == 3
    first = jobs.claim(job.id)
    assert first == [Unit(c, k) for c in range(3) for k in ("visual", "asr")]
    assert jobs.claim(job.id) == [], "units in flight are not handed out again"
    _finish(store, jobs, job.id, Unit(0, "visual"))
    assert jobs.claim(job.id) == [], "captions wait for the chunk's speech too"
    _finish(store, jobs, job.id, Unit(0, "asr"))
    assert jobs.claim(job.id) == [Unit(0, "derived")]
    for unit in [Unit(c, k) for c in (1, 2) for k in ("visual", "asr")]:
        _finish(store, jobs, job.id, unit)
    assert jobs.claim(job.id) == [Unit(1, "derived"), Unit(2, "derived")]
    for c in range(3):
        _finish(store, jobs, job.id, Unit(c, "derived"))
    assert jobs.claim(job.id) == [Unit(0, "graph")], "the graph is built after every chunk"
    assert jobs.claim(job.id) == [], "finalize waits for the graph"
    _finish(store, jobs, job.id, Unit(0, "graph"))
    assert jobs.claim(job.id) == [Unit(0, "finalize")]
    assert jobs.get(job.id).status == "running"
    again, created = jobs.submit(video_id, STAGES, chunk_s=20)
    assert not created and again.id == job.id, "an active job is not submitted twice"


def test_concurrent_claims_hand_each_unit_out_once(jobs_and_video) -> None:
    jobs, video_id, _ = jobs_and_video
    job, _ = jobs.submit(video_id, STAGES, chunk_s=10)
    with ThreadPoolExecutor(8) as pool:
        handed = [u for units in pool.map(lambda _: jobs.claim(job.id), range(8)) for u in units]
    assert len(handed) == len(set(handed)) == 2 * len(job.chunks)


def test_a_dispatch_failure_rolls_the_claim_back(jobs_and_video) -> None:
    jobs, video_id, _ = jobs_and_video
    job, _ = jobs.submit(video_id, STAGES, chunk_s=20)

    def broker_down(job_id: int, units: list[Unit]) -> None:
        raise ConnectionError("broker unreachable")

    with pytest.raises(ConnectionError):
        jobs.claim(job.id, dispatch=broker_down)
    assert len(jobs.claim(job.id)) == 6, "nothing was marked sent"


def test_cancel_withdraws_pending_units_and_retry_resumes(jobs_and_video, db: Database) -> None:
    jobs, video_id, store = jobs_and_video
    job, _ = jobs.submit(video_id, STAGES, chunk_s=20)
    jobs.claim(job.id)
    _finish(store, jobs, job.id, Unit(0, "visual"))
    assert jobs.cancel(job.id).status == "cancelled"
    with pytest.raises(JobError, match="already cancelled"):
        jobs.cancel(job.id)
    assert jobs.start(job.id, Unit(1, "visual"), "test:1") is None, "no unit starts"
    assert jobs.claim(job.id) == []
    with db.engine.connect() as conn:
        states = dict(
            conn.execute(text("SELECT status, count(*) FROM ingest_checkpoints GROUP BY 1")).all()
        )
        video = conn.execute(text("SELECT status FROM videos")).scalar_one()
    assert states == {"done": 1} and video == "cancelled"
    assert jobs.retry(job.id).status == "queued"
    resumed = jobs.claim(job.id)
    assert Unit(0, "visual") not in resumed and len(resumed) == 5
    with pytest.raises(JobError, match="--force"):
        jobs.retry(job.id)
    jobs.retry(job.id, force=True)
    assert len(jobs.claim(job.id)) == 5, "a forced retry re-sends units in flight"


def test_failed_units_of_an_earlier_job_run_again(jobs_and_video) -> None:
    jobs, video_id, store = jobs_and_video
    job, _ = jobs.submit(video_id, ["asr"], chunk_s=60)
    jobs.claim(job.id)
    jobs.fail_unit(job.id, Unit(0, "asr"), "RuntimeError: model crashed")
    assert jobs.claim(job.id) == [Unit(0, "graph")], "failed is final within a job"
    jobs.fail_unit(job.id, Unit(0, "graph"), "RuntimeError: graph bug")
    assert jobs.claim(job.id) == [Unit(0, "finalize")], "a failed graph still lets the job end"
    jobs.abandon(job.id, KeyboardInterrupt())
    assert jobs.get(job.id).status == "failed"
    later, created = jobs.submit(video_id, ["asr"], chunk_s=300)
    assert created and later.chunks == job.chunks, "a new job keeps the chunk plan"
    assert jobs.claim(later.id) == [Unit(0, "asr")]
