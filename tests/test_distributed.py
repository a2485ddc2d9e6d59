"""Distributed ingest over the machine's real Redis with real ``vidkg worker`` processes.

Every job here is checked against an in-process run of the same video with the same
chunks: the rows must be exactly the same, over two workers and after a cancel followed
by a retry. Faults (kills, outages, lost queues, poison units): ``test_recovery.py``.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from sqlalchemy import text

from indexer.catalog import register_video
from indexer.worker import submit_job
from tests.brokers import SAMPLE_CHUNK_S, finished, free_port, submit, vidkg, worker_env
from tests.conftest import HAYSTACK_CHUNK_S, IngestedHaystack, with_chunk_s
from tests.support import SAMPLE
from tests.workers import (
    assert_same_rows,
    checkpoint_count,
    job_status,
    snapshot,
    start_worker,
    stop,
    wait_for,
)
from vidkg.db import Database, open_database
from vidkg.settings import Settings


def test_two_workers_write_exactly_the_rows_of_the_in_process_run(
    haystack5: IngestedHaystack, settings: Settings, db: Database, broker: str, tmp_path: Path
) -> None:
    """The 5-minute haystack in 3 chunks: its units spread over two worker processes."""
    # One model thread each: two processes share this machine's two cores.
    env = worker_env(settings, broker, HAYSTACK_CHUNK_S) | {"VIDKG_INDEXER__THREADS": "1"}
    workers = [start_worker(env, tmp_path / f"worker{i}.log") for i in range(2)]
    try:
        result = vidkg(env, "ingest", "--json", str(haystack5.video), timeout=900)
    finally:
        for w in workers:
            stop(w)
    assert result.returncode == 0, result.stderr + (tmp_path / "worker0.log").read_text()
    job = json.loads(result.stdout)["results"][0]
    assert job["status"] == "ingested" and job["job"]["status"] == "succeeded"
    with db.engine.connect() as conn:
        ran_on = conn.execute(text("SELECT count(DISTINCT worker) FROM ingest_checkpoints"))
        assert ran_on.scalar_one() == 2, "both workers ran units of the one video"
    reference = open_database(haystack5.settings)
    try:
        expected = snapshot(reference)
    finally:
        reference.dispose()
    assert_same_rows(snapshot(db), expected)
    got = snapshot(db)
    assert len(got["speech"]) > 10 and len(got["detections"]) > 50
    # The workers took their converted models from the run's shared VIDKG_MODELS_DIR.
    assert not (settings.home / "models").exists()
    assert (Settings().model_cache_dir / "whisper-base").is_dir()


def test_cancel_stops_new_units_and_retry_resumes(
    sample_reference: dict, settings: Settings, db: Database, broker: str, tmp_path: Path
) -> None:
    env = worker_env(settings, broker)
    worker = start_worker(env, tmp_path / "worker.log")
    try:
        job_id = submit(env, SAMPLE)
        wait_for(lambda: checkpoint_count(db, "done") >= 1, 180, "a first unit")
        cancelled = vidkg(env, "jobs", "cancel", str(job_id))
        assert cancelled.returncode == 0, cancelled.stderr
        wait_for(lambda: checkpoint_count(db, "running") == 0, 60, "running units to end")
        done = checkpoint_count(db, "done")
        time.sleep(3)
        assert checkpoint_count(db, "done") == done, "no unit started after the cancel"
        assert checkpoint_count(db, "pending") == 0
        assert job_status(db, job_id) == "cancelled"
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT status FROM videos")).scalar_one() == "cancelled"
            # What finished is whole: each done checkpoint's rows are all there.
            for stage, table in (("asr", "speech_segments"), ("ocr", "onscreen_text")):
                written = conn.execute(
                    text(
                        "SELECT coalesce(sum(rows_written), 0) FROM ingest_checkpoints "
                        "WHERE stage = :s AND status = 'done'"
                    ),
                    {"s": stage},
                ).scalar_one()
                assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() == written
        assert done < len([r for r in sample_reference["checkpoints"] if r[2] == "done"])
        shown = vidkg(env, "jobs", "show", str(job_id), "--json")
        assert json.loads(shown.stdout)["status"] == "cancelled"
        retried = vidkg(env, "jobs", "retry", str(job_id), "--json")
        assert retried.returncode == 0, retried.stderr
        assert json.loads(retried.stdout)["status"] == "succeeded"
    finally:
        stop(worker)
    assert_same_rows(snapshot(db), sample_reference)


def test_bad_input_fails_the_unit_with_its_reason_and_is_not_retried(
    settings: Settings, db: Database, broker: str, tmp_path: Path
) -> None:
    """The file disappears between registration and the worker reading it."""
    video = tmp_path / "gone.mp4"
    shutil.copy(SAMPLE, video)
    video_id = register_video(db.sessions, settings, video).video_id
    job, created = submit_job(
        db,
        with_chunk_s(settings, SAMPLE_CHUNK_S).model_copy(update={"broker_url": broker}),
        video_id,
        ["asr"],
    )
    assert created
    video.unlink()  # after the job was planned and sent, before any worker reads it
    worker = start_worker(worker_env(settings, broker), tmp_path / "worker.log")
    try:
        assert finished(db, job.id, timeout=120) == "failed"
    finally:
        stop(worker)
    with db.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT status, attempts, error FROM ingest_checkpoints WHERE stage = 'asr'")
        ).all()
        error = conn.execute(text("SELECT error FROM ingest_jobs")).scalar_one()
    assert len(rows) == 3 and all(r.status == "failed" and r.attempts == 1 for r in rows)
    assert "gone.mp4" in error and "retry in" not in (tmp_path / "worker.log").read_text()


def test_an_unreachable_broker_is_a_clear_error_and_sends_nothing(
    settings: Settings, db: Database
) -> None:
    env = worker_env(settings, f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    env["VIDKG_WORKER__PUBLISH_TIMEOUT_S"] = "1"
    result = vidkg(env, "ingest", str(SAMPLE))
    assert result.returncode == 1
    assert "unreachable" in result.stderr and "jobs retry 1 --force" in result.stderr
    assert "Traceback" not in result.stderr
    assert job_status(db, 1) == "queued"
    assert checkpoint_count(db, "pending") == 0, "the claim was rolled back: nothing marked sent"
