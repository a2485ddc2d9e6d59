"""The end of a job: after every chunk, number scenes over the video and record the outcome.

It runs once per job (the ``finalize`` unit), on whichever worker takes it. The outcome
is read from the checkpoints, not from any one process's memory, so it is the same
whether the chunks ran here or on ten machines.
"""

from __future__ import annotations

from sqlalchemy import select, text

from indexer.jobs import Job, JobStore
from indexer.plan import FINALIZE, GRAPH, IngestReport
from indexer.store import EvidenceStore
from vidkg.db import Database
from vidkg.schema import IngestCheckpoint, Video

SEARCHED_TABLES = ("speech_segments", "onscreen_text", "captions", "scenes", "detections")


def finalize_job(
    db: Database,
    jobs: JobStore,
    job: Job,
    video: Video,
    store: EvidenceStore,
    report: IngestReport,
) -> None:
    """Record a truncated file's unreadable tail and end the job (failed when a stage or
    the graph build failed). Scenes were renumbered by the graph step before it."""
    if video.decodable_s is not None:
        reason = (
            f"truncated file: data ends at {video.decodable_s:.1f} s of the declared "
            f"{video.duration_s:.1f} s; the rest cannot be decoded"
        )
        tail = (len(job.chunks), video.decodable_s, video.duration_s)
        store.mark("decode", tail, "failed", job_id=job.id, error=reason)
    report.failures = _failures(db, job)
    failed = [f for f in report.failures if f["stage"] != "decode"]
    report.status = "failed" if failed else "succeeded"
    video_status = "failed" if failed else ("partial" if video.decodable_s else "ready")
    error = "; ".join(f["error"] for f in report.failures) or None
    with db.sessions.begin() as s:
        store.mark(FINALIZE, (0, 0.0, job.timeline_s), "done", job_id=job.id, session=s)
        jobs.end(s, job, report.status, error, video_status)
    # Bulk inserts sit in GIN pending lists until vacuumed; make search fast now.
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in SEARCHED_TABLES:
            conn.execute(text(f"VACUUM ANALYZE {table}"))


def _failures(db: Database, job: Job) -> list[dict]:
    """Failed checkpoints of the job's stages (and an unreadable tail), in time order."""
    with db.sessions() as s:
        rows = s.execute(
            select(
                IngestCheckpoint.stage,
                IngestCheckpoint.chunk_index,
                IngestCheckpoint.start_s,
                IngestCheckpoint.end_s,
                IngestCheckpoint.error,
            )
            .where(
                IngestCheckpoint.video_id == job.video_id,
                IngestCheckpoint.status == "failed",
                IngestCheckpoint.stage.in_([*job.stages, "decode", GRAPH]),
            )
            .order_by(IngestCheckpoint.start_s, IngestCheckpoint.stage)
        )
        return [
            {"stage": st, "chunk": idx, "start_s": a, "end_s": b, "error": err}
            for st, idx, a, b, err in rows
        ]
