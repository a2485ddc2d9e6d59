"""Distributed ingest over the machine's real Redis (and RabbitMQ) with real ``vidkg
worker`` processes.

Every job here is checked against an in-process run of the same video with the same
chunks: the rows must be exactly the same, after worker kills, broker and database
outages, and a cancel followed by a retry.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from kombu import Connection, Queue
from sqlalchemy import text

from indexer.catalog import register_video
from indexer.models import ModelRegistry
from indexer.worker import submit_job
from tests.conftest import HAYSTACK_CHUNK_S, IngestedHaystack, fresh_database, with_chunk_s
from tests.support import REPO, SAMPLE, cli_env
from tests.workers import (
    assert_same_rows,
    checkpoint_count,
    duplicates,
    job_status,
    kill,
    snapshot,
    start_worker,
    stop,
    wait_for,
)
from vidkg.db import Database, open_database
from vidkg.db.embedded import EmbeddedPostgres
from vidkg.settings import Settings

BROKER = "redis://127.0.0.1:6379/13"  # a database of the machine's Redis for these tests
RABBITMQ = "amqp://guest:guest@127.0.0.1:5672//"  # the machine's RabbitMQ
SAMPLE_CHUNK_S = 20.0  # the 60 s sample in three chunks
OVER = ("succeeded", "failed", "cancelled")


@pytest.fixture
def broker() -> Iterator[str]:
    client = redis.Redis.from_url(BROKER)
    client.flushdb()
    yield BROKER
    client.flushdb()


@pytest.fixture(scope="module")
def sample_reference(
    vidkg_home: Path, template_db: str, registry: ModelRegistry
) -> Iterator[dict[str, list]]:
    """Rows of the sample ingested in-process, in the chunks the workers will use."""
    from indexer.pipeline import Pipeline

    with fresh_database(vidkg_home, template_db) as fresh:
        settings = with_chunk_s(fresh, SAMPLE_CHUNK_S)
        db = open_database(settings)
        video_id = register_video(db.sessions, settings, SAMPLE).video_id
        report = Pipeline(db, settings, registry).ingest(video_id, settings.indexer.stages)
        assert report.status == "succeeded", report.failures
        yield snapshot(db)
        db.dispose()


def _env(settings: Settings, broker: str, chunk_s: float = SAMPLE_CHUNK_S) -> dict[str, str]:
    return cli_env(settings) | {
        "VIDKG_BROKER_URL": broker,
        "VIDKG_INDEXER__CHUNK_S": str(chunk_s),
        # A vanished worker's unit is delivered again after 20 s (a sample unit takes ~5 s).
        "VIDKG_WORKER__VISIBILITY_TIMEOUT_S": "20",
        "VIDKG_WORKER__POLL_S": "0.3",
    }


def _vidkg(env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _submit(env: dict[str, str], video: Path) -> int:
    result = _vidkg(env, "ingest", "--no-wait", "--json", str(video))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["results"][0]["job_id"]


def _finished(db: Database, job_id: int, timeout: float = 240) -> str:
    return wait_for(
        lambda: (s := job_status(db, job_id)) in OVER and s, timeout, f"job {job_id} to end"
    )


def _attempts(db: Database) -> int:
    with db.engine.connect() as conn:
        return conn.execute(text("SELECT max(attempts) FROM ingest_checkpoints")).scalar_one()


def test_two_workers_write_exactly_the_rows_of_the_in_process_run(
    haystack5: IngestedHaystack, settings: Settings, db: Database, broker: str, tmp_path: Path
) -> None:
    """The 5-minute haystack in 3 chunks: its units spread over two worker processes."""
    # One model thread each: two processes share this machine's two cores.
    env = _env(settings, broker, HAYSTACK_CHUNK_S) | {"VIDKG_INDEXER__THREADS": "1"}
    workers = [start_worker(env, tmp_path / f"worker{i}.log") for i in range(2)]
    try:
        result = _vidkg(env, "ingest", "--json", str(haystack5.video), timeout=900)
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


@pytest.fixture(params=["redis", "rabbitmq"])
def any_broker(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """Settings for a broker of its own: a Redis database, or RabbitMQ queues with
    names private to this test (the machine's RabbitMQ may serve others)."""
    if request.param == "redis":
        client = redis.Redis.from_url(BROKER)
        client.flushdb()
        yield {"VIDKG_BROKER_URL": BROKER}
        client.flushdb()
        return
    prefix = f"t{uuid.uuid4().hex[:8]}-"
    routes = {k: prefix + q for k, q in Settings().worker.routes.items()}
    queues = sorted(set(routes.values()))
    yield {
        "VIDKG_BROKER_URL": RABBITMQ,
        "VIDKG_WORKER__ROUTES": json.dumps(routes),
        "VIDKG_WORKER__QUEUES": json.dumps(queues),
    }
    with Connection(RABBITMQ) as conn:
        for name in queues:
            with contextlib.suppress(Exception):
                Queue(name, channel=conn.default_channel).delete()


def test_a_worker_killed_mid_chunk_loses_and_duplicates_nothing(
    sample_reference: dict,
    settings: Settings,
    db: Database,
    any_broker: dict[str, str],
    tmp_path: Path,
) -> None:
    env = _env(settings, any_broker["VIDKG_BROKER_URL"]) | any_broker
    first = start_worker(env, tmp_path / "first.log")
    second = None
    try:
        job_id = _submit(env, SAMPLE)
        # Models loaded and one unit written; kill while the next one is running.
        wait_for(lambda: checkpoint_count(db, "done") >= 1, 180, "a first unit")
        wait_for(lambda: checkpoint_count(db, "running") >= 1, 60, "a unit in progress")
        kill(first)
        assert checkpoint_count(db, "running") >= 1, "the kill came in the middle of a unit"
        second = start_worker(env, tmp_path / "second.log")
        assert _finished(db, job_id) == "succeeded"
    finally:
        stop(first)
        if second:
            stop(second)
    assert _attempts(db) >= 2, "the killed unit was delivered again"
    assert duplicates(db) == dict.fromkeys(duplicates(db), 0)
    assert_same_rows(snapshot(db), sample_reference)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_broker_outage_mid_job_is_ridden_out(
    sample_reference: dict, settings: Settings, db: Database, tmp_path: Path
) -> None:
    """A private Redis (append-only file, as docker-compose.yml runs it) is shut down
    for 5 s while a unit runs; the worker reconnects and the job completes."""
    port = _free_port()
    server = [
        shutil.which("redis-server") or "redis-server",
        *("--port", str(port), "--bind", "127.0.0.1", "--save", ""),
        *("--appendonly", "yes", "--dir", str(tmp_path)),
    ]
    redis_proc = subprocess.Popen(server, stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    wait_for(lambda: redis.Redis.from_url(url).ping(), 20, "the private redis")
    env = _env(settings, url)
    worker = start_worker(env, tmp_path / "worker.log")
    try:
        job_id = _submit(env, SAMPLE)
        wait_for(lambda: checkpoint_count(db, "done") >= 1, 180, "a first unit")
        redis.Redis.from_url(url).shutdown()  # writes the append-only file, then exits
        redis_proc.wait(timeout=30)
        time.sleep(5)
        redis_proc = subprocess.Popen(server, stdout=subprocess.DEVNULL)
        assert _finished(db, job_id) == "succeeded"
    finally:
        stop(worker)
        redis_proc.terminate()
        redis_proc.wait(timeout=30)
    assert duplicates(db) == dict.fromkeys(duplicates(db), 0)
    assert_same_rows(snapshot(db), sample_reference)


def test_database_outage_mid_job_is_retried(
    sample_reference: dict, broker: str, tmp_path: Path
) -> None:
    """A private embedded PostgreSQL is stopped for 5 s mid-job: units that hit it are
    retried with backoff and the job completes with every row once."""
    settings = Settings(home=tmp_path / "home")
    db = open_database(settings)
    env = _env(settings, broker)
    worker = start_worker(env, tmp_path / "worker.log")
    try:
        job_id = _submit(env, SAMPLE)
        wait_for(lambda: checkpoint_count(db, "done") >= 1, 180, "a first unit")
        assert _vidkg(env, "db", "stop").returncode == 0
        time.sleep(5)
        assert _vidkg(env, "db", "start").returncode == 0
        assert _finished(db, job_id) == "succeeded"
        log = (tmp_path / "worker.log").read_text()
        assert "retry in" in log, "a unit met the outage and was retried"
        assert duplicates(db) == dict.fromkeys(duplicates(db), 0)
        assert_same_rows(snapshot(db), sample_reference)
    finally:
        stop(worker)
        db.dispose()
        EmbeddedPostgres(settings.pgdata_dir).stop()


def test_cancel_stops_new_units_and_retry_resumes(
    sample_reference: dict, settings: Settings, db: Database, broker: str, tmp_path: Path
) -> None:
    env = _env(settings, broker)
    worker = start_worker(env, tmp_path / "worker.log")
    try:
        job_id = _submit(env, SAMPLE)
        wait_for(lambda: checkpoint_count(db, "done") >= 1, 180, "a first unit")
        cancelled = _vidkg(env, "jobs", "cancel", str(job_id))
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
        shown = _vidkg(env, "jobs", "show", str(job_id), "--json")
        assert json.loads(shown.stdout)["status"] == "cancelled"
        retried = _vidkg(env, "jobs", "retry", str(job_id), "--json")
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
    worker = start_worker(_env(settings, broker), tmp_path / "worker.log")
    try:
        assert _finished(db, job.id, timeout=120) == "failed"
    finally:
        stop(worker)
    with db.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT status, attempts, error FROM ingest_checkpoints WHERE stage = 'asr'")
        ).all()
        error = conn.execute(text("SELECT error FROM ingest_jobs")).scalar_one()
    assert len(rows) == 3 and all(r.status == "failed" and r.attempts == 1 for r in rows)
    assert "gone.mp4" in error and "retry in" not in (tmp_path / "worker.log").read_text()


def test_a_lost_queue_is_reported_and_a_forced_retry_recovers(
    sample_reference: dict, settings: Settings, db: Database, broker: str, tmp_path: Path
) -> None:
    """A broker that forgets its messages (Redis restarted without persistence): the
    follower warns, naming the fix, and `jobs retry --force` sends the units again."""
    env = _env(settings, broker) | {"VIDKG_WORKER__STALL_WARNING_S": "1"}
    job_id = _submit(env, SAMPLE)  # no worker yet: the units wait in the queue
    redis.Redis.from_url(broker).flushdb()  # ... and are lost
    with pytest.raises(subprocess.TimeoutExpired) as following:
        _vidkg(env, "ingest", str(SAMPLE), timeout=10)  # follows the job, which stalls
    said = following.value.stderr
    said = said.decode() if isinstance(said, bytes) else said or ""
    assert "no unit started or finished" in said and f"jobs retry {job_id} --force" in said
    worker = start_worker(env, tmp_path / "worker.log")
    try:
        refused = _vidkg(env, "jobs", "retry", str(job_id))
        assert refused.returncode == 1 and "--force" in refused.stderr
        retried = _vidkg(env, "jobs", "retry", str(job_id), "--force", "--json")
        assert retried.returncode == 0, retried.stderr
        assert json.loads(retried.stdout)["status"] == "succeeded"
    finally:
        stop(worker)
    assert_same_rows(snapshot(db), sample_reference)


def test_an_unreachable_broker_is_a_clear_error_and_sends_nothing(
    settings: Settings, db: Database
) -> None:
    env = _env(settings, f"redis://127.0.0.1:{_free_port()}/0")  # nothing listens there
    env["VIDKG_WORKER__PUBLISH_TIMEOUT_S"] = "1"
    result = _vidkg(env, "ingest", str(SAMPLE))
    assert result.returncode == 1
    assert "unreachable" in result.stderr and "jobs retry 1 --force" in result.stderr
    assert "Traceback" not in result.stderr
    assert job_status(db, 1) == "queued"
    assert checkpoint_count(db, "pending") == 0, "the claim was rolled back: nothing marked sent"
