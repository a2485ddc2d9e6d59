"""A real ``vidkg worker`` process consuming from the real Redis on 127.0.0.1:6379."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid

import redis
from sqlalchemy import text

from indexer.worker import make_celery
from tests.support import REPO, VTEST, cli_env, require
from vidkg.db import Database
from vidkg.settings import Settings

BROKER = "redis://127.0.0.1:6379/15"


def test_worker_registers_a_video_sent_over_redis(db: Database, settings: Settings) -> None:
    queue = f"test-{uuid.uuid4().hex[:8]}"  # private queue: no other consumer interferes
    env = cli_env(settings) | {"VIDKG_BROKER_URL": BROKER}
    worker = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "worker", "--queues", queue],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        celery = make_celery(settings.model_copy(update={"broker_url": BROKER}))
        celery.send_task("vidkg.register_video", args=[str(require(VTEST))], queue=queue)
        deadline = time.monotonic() + 90
        count = 0
        while time.monotonic() < deadline and count == 0:
            time.sleep(0.5)
            with db.engine.connect() as conn:
                count = conn.execute(text("SELECT count(*) FROM videos")).scalar_one()
        assert count == 1, "the worker did not register the video in time"
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT file_name FROM videos")).scalar_one() == "vtest.avi"
    finally:
        worker.terminate()
        output, _ = worker.communicate(timeout=30)
        broker = redis.Redis.from_url(BROKER)
        stale = [k for k in broker.scan_iter("*") if queue.encode() in k]
        if stale:
            broker.delete(*stale)
    assert "vidkg.register_video" in output


def test_worker_without_broker_says_what_to_set(settings: Settings) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "api.cli", "worker"],
        env=cli_env(settings),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "VIDKG_BROKER_URL is not set" in result.stderr
