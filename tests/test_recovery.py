"""Jobs that heal themselves, with real ``vidkg worker`` processes and real brokers.

A worker SIGKILLed mid-unit, a unit that kills its worker every time, a Redis that
forgets its queues, PostgreSQL and the broker away for half a minute, RabbitMQ's consumer
timeout: every job ends without a person, and ends with exactly the rows of an
in-process run of the same video (``sample_reference``).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import text

from tests.brokers import (
    RABBITMQ,
    SAMPLE_CHUNK_S,
    PrivateRedis,
    finished,
    rabbitmq_queues,
    submit,
    vidkg,
    worker_env,
)
from tests.support import SAMPLE, cli_env
from tests.workers import (
    assert_same_rows,
    checkpoint_count,
    duplicates,
    kill,
    snapshot,
    start_worker,
    stop,
    wait_for,
)
from vidkg.db import Database, open_database
from vidkg.db.embedded import EmbeddedPostgres
from vidkg.settings import Settings

OUTAGE_S = 30  # many heartbeat timeouts (8 s) and broker reconnect attempts long


def _recoveries(db: Database) -> list[tuple[str, int, str, str, str]]:
    with db.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT unit_kind, chunk_index, cause, action, reason FROM unit_recoveries "
                "ORDER BY id"
            )
        )
        return [tuple(r) for r in rows]


def _running_pid(db: Database) -> int | None:
    """The pool process running a chunk's unit right now, once a first unit is done."""
    if checkpoint_count(db, "done") < 1:
        return None
    with db.engine.connect() as conn:
        worker = conn.execute(
            text(
                "SELECT worker FROM ingest_checkpoints WHERE status = 'running' "
                "AND stage NOT IN ('graph', 'finalize') LIMIT 1"
            )
        ).scalar()
    return int(worker.rsplit(":", 1)[1]) if worker else None


def _assert_reference(db: Database, reference: dict) -> None:
    assert duplicates(db) == dict.fromkeys(duplicates(db), 0)
    assert_same_rows(snapshot(db), reference)


def test_a_killed_worker_s_unit_is_taken_back_within_two_minutes(
    sample_reference: dict,
    settings: Settings,
    db: Database,
    any_broker: dict[str, str],
    tmp_path: Path,
) -> None:
    """Two workers with the default settings but the heartbeat bound; the one running
    a unit is SIGKILLed with its pool (as the OOM killer would)."""
    env = cli_env(settings) | any_broker
    env |= {
        "VIDKG_INDEXER__CHUNK_S": str(SAMPLE_CHUNK_S),
        "VIDKG_INDEXER__THREADS": "1",  # two processes share two cores
        "VIDKG_WORKER__HEARTBEAT_TIMEOUT_S": "15",  # the one setting changed (60 s)
    }
    workers = [start_worker(env, tmp_path / f"worker{i}.log") for i in range(2)]
    try:
        job_id = submit(env, SAMPLE)
        pid = wait_for(lambda: _running_pid(db), 240, "a unit running after a first one")
        victim = next(w for w in workers if os.getpgid(pid) == w.pid)
        kill(victim)
        killed = time.monotonic()
        assert finished(db, job_id, timeout=180) == "succeeded"
        recovered_in = time.monotonic() - killed
    finally:
        for w in workers:
            stop(w)
    assert recovered_in <= 120, f"the job ended {recovered_in:.0f} s after the kill"
    lost = [r for r in _recoveries(db) if r[2] == "worker_lost"]
    assert lost and all(r[3] in ("resent", "taken_over") for r in lost), _recoveries(db)
    assert f":{pid} silent for" in lost[0][4]
    _assert_reference(db, sample_reference)
    shown = vidkg(env, "jobs", "show", str(job_id))
    assert "taken back" in shown.stdout and "worker_lost" in shown.stdout


def test_a_unit_that_kills_its_worker_is_failed_as_poison_and_the_job_goes_on(
    settings: Settings, db: Database, broker: str, tmp_path: Path
) -> None:
    """The picture unit of chunk 1 SIGKILLs its pool process every time it runs."""
    env = worker_env(settings, broker)
    worker = start_worker(env, tmp_path / "worker.log", module="tests.poison_worker")
    try:
        job_id = submit(env, SAMPLE)
        assert finished(db, job_id, timeout=300) == "failed"
    finally:
        stop(worker)
    recoveries = [r for r in _recoveries(db) if (r[0], r[1]) == ("visual", 1)]
    max_attempts = Settings().worker.max_unit_attempts
    assert [r[3] for r in recoveries][-1] == "failed" and len(recoveries) == max_attempts
    assert "poison" in recoveries[-1][4]
    with db.engine.connect() as conn:
        states = dict(
            conn.execute(
                text(
                    "SELECT stage || ':' || chunk_index, status FROM ingest_checkpoints "
                    "WHERE stage IN ('scenes', 'ocr', 'asr', 'finalize')"
                )
            ).all()
        )
        error = conn.execute(text("SELECT error FROM ingest_jobs")).scalar_one()
    assert states["scenes:1"] == states["ocr:1"] == "failed"
    assert states["scenes:0"] == states["scenes:2"] == states["asr:1"] == "done"
    assert states["finalize:0"] == "done", "the job was finished, not left waiting"
    assert "poison" in error
    shown = vidkg(env, "jobs", "show", str(job_id))
    assert "poison" in shown.stdout + shown.stderr


def test_the_broker_away_for_half_a_minute_is_ridden_out(
    sample_reference: dict, settings: Settings, db: Database, tmp_path: Path
) -> None:
    """The worker's Redis is down for 30 s mid-job and restarts without its append-only
    file: the worker waits and reconnects, and the units that waited in the queue are
    gone. Nobody runs `jobs retry`: the worker's check sends them again, and the job
    ends with every row once."""
    server = PrivateRedis(tmp_path, appendonly=False)
    server.start()
    env = worker_env(settings, server.url)
    worker = start_worker(env, tmp_path / "worker.log")
    try:
        job_id = submit(env, SAMPLE)
        wait_for(lambda: _running_pid(db), 240, "a unit running after a first one")
        server.stop()
        time.sleep(OUTAGE_S)
        server.start()
        assert finished(db, job_id, timeout=300) == "succeeded"
    finally:
        stop(worker)
        server.stop()
    assert any(r[2:4] == ("message_lost", "resent") for r in _recoveries(db)), _recoveries(db)
    _assert_reference(db, sample_reference)


def test_the_database_away_for_half_a_minute_is_ridden_out(
    sample_reference: dict, broker: str, tmp_path: Path
) -> None:
    """A private embedded PostgreSQL is stopped for 30 s mid-job: units that meet it
    retry with backoff, heartbeats resume, nothing live is taken back for lost."""
    settings = Settings(home=tmp_path / "home")
    db = open_database(settings)
    env = worker_env(settings, broker)
    worker = start_worker(env, tmp_path / "worker.log")
    try:
        job_id = submit(env, SAMPLE)
        wait_for(lambda: _running_pid(db), 240, "a unit running after a first one")
        assert vidkg(env, "db", "stop").returncode == 0
        time.sleep(OUTAGE_S)
        assert vidkg(env, "db", "start").returncode == 0
        assert finished(db, job_id, timeout=400) == "succeeded"
        log = (tmp_path / "worker.log").read_text()
        assert "retry in" in log, "a unit met the outage and was retried"
        _assert_reference(db, sample_reference)
    finally:
        stop(worker)
        db.dispose()
        EmbeddedPostgres(settings.pgdata_dir).stop()


# RabbitMQ's own defaults (ms), put back when a setting was found unset.
DEFAULTS = {"consumer_timeout": "1800000", "channel_tick_interval": "60000"}


@contextlib.contextmanager
def _rabbitmq_consumer_timeout(ms: int) -> Iterator[None]:
    """Shorten the machine's RabbitMQ consumer timeout (and the channel tick that checks
    it) for new channels; put both back afterwards."""

    def rabbit(expr: str) -> str:
        done = subprocess.run(
            ["rabbitmqctl", "eval", expr], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    before = {
        key: rabbit(f"application:get_env(rabbit, {key}).")
        for key in ("consumer_timeout", "channel_tick_interval")
    }
    rabbit(f"application:set_env(rabbit, consumer_timeout, {ms}).")
    rabbit("application:set_env(rabbit, channel_tick_interval, 1000).")
    try:
        yield
    finally:
        for key, value in before.items():  # RabbitMQ's channels need both set
            kept = value[4:-1] if value.startswith("{ok,") else DEFAULTS[key]
            rabbit(f"application:set_env(rabbit, {key}, {kept}).")


def test_a_unit_that_hangs_stops_before_rabbitmq_s_consumer_timeout(
    settings: Settings, db: Database, tmp_path: Path
) -> None:
    """RabbitMQ closes the channel of a delivery unacknowledged past its consumer
    timeout, which stops a Celery worker for good. With the timeout shortened to 60 s,
    a unit that hangs is stopped by the unit time limit (45 s) first: it fails with the
    reason, the rest of the job goes on, and the worker lives on."""
    log = tmp_path / "worker.log"
    with rabbitmq_queues() as queues, _rabbitmq_consumer_timeout(60_000):
        env = worker_env(settings, RABBITMQ) | queues
        env |= {"VIDKG_WORKER__UNIT_TIME_LIMIT_S": "45", "VIDKG_TEST_POISON": "hang"}
        worker = start_worker(env, log, module="tests.poison_worker")
        try:
            job_id = submit(env, SAMPLE)
            assert finished(db, job_id, timeout=300) == "failed"
            assert worker.poll() is None, "the worker lives on"
        finally:
            stop(worker)
    said = log.read_text()
    assert "Unrecoverable error" not in said and "PRECONDITION_FAILED" not in said
    with db.engine.connect() as conn:
        states = {
            f"{r.stage}:{r.chunk_index}": (r.status, r.error or "")
            for r in conn.execute(
                text("SELECT stage, chunk_index, status, error FROM ingest_checkpoints")
            )
        }
    assert states["scenes:1"][0] == "failed" and "UNIT_TIME_LIMIT_S" in states["scenes:1"][1]
    assert states["scenes:2"][0] == states["asr:1"][0] == states["finalize:0"][0] == "done"
