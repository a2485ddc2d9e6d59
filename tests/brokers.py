"""Brokers, settings and CLI calls for the tests that run real ``vidkg worker``s.

The fixtures here (a private Redis database, either broker, the sample's reference
rows) are imported by ``tests/conftest.py`` so every module of distributed tests shares
them; the reference ingest runs once per session.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from kombu import Connection, Queue

from indexer.catalog import register_video
from indexer.models import ModelRegistry
from tests.support import REPO, SAMPLE, cli_env
from tests.workers import job_status, snapshot, wait_for
from vidkg.db import Database, open_database
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


@contextlib.contextmanager
def rabbitmq_queues() -> Iterator[dict[str, str]]:
    """Settings for RabbitMQ queues with names private to this test (the machine's
    RabbitMQ may serve others), deleted afterwards."""
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


@pytest.fixture(params=["redis", "rabbitmq"])
def any_broker(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """Settings for a broker of its own: a Redis database, or private RabbitMQ queues."""
    if request.param == "redis":
        client = redis.Redis.from_url(BROKER)
        client.flushdb()
        yield {"VIDKG_BROKER_URL": BROKER}
        client.flushdb()
        return
    with rabbitmq_queues() as found:
        yield found


@pytest.fixture(scope="session")
def sample_reference(
    vidkg_home: Path, template_db: str, registry: ModelRegistry
) -> Iterator[dict[str, list]]:
    """Rows of the sample ingested in-process, in the chunks the workers will use."""
    from indexer.pipeline import Pipeline
    from tests.conftest import fresh_database, with_chunk_s

    with fresh_database(vidkg_home, template_db) as fresh:
        settings = with_chunk_s(fresh, SAMPLE_CHUNK_S)
        db = open_database(settings)
        video_id = register_video(db.sessions, settings, SAMPLE).video_id
        report = Pipeline(db, settings, registry).ingest(video_id, settings.indexer.stages)
        assert report.status == "succeeded", report.failures
        yield snapshot(db)
        db.dispose()


def worker_env(settings: Settings, broker: str, chunk_s: float = SAMPLE_CHUNK_S) -> dict[str, str]:
    """What a worker and the CLI read: the test's database, the broker, the chunking,
    and lost units taken back within seconds (a sample unit takes about 5 s)."""
    return cli_env(settings) | {
        "VIDKG_BROKER_URL": broker,
        "VIDKG_INDEXER__CHUNK_S": str(chunk_s),
        "VIDKG_WORKER__POLL_S": "0.3",
        "VIDKG_WORKER__HEARTBEAT_S": "1",
        "VIDKG_WORKER__HEARTBEAT_TIMEOUT_S": "8",
        "VIDKG_WORKER__PENDING_TIMEOUT_S": "8",
        "VIDKG_WORKER__RECOVERY_INTERVAL_S": "2",
    }


def vidkg(env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def submit(env: dict[str, str], video: Path) -> int:
    result = vidkg(env, "ingest", "--no-wait", "--json", str(video))
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)["results"][0]["job_id"]


def finished(db: Database, job_id: int, timeout: float = 240) -> str:
    return wait_for(
        lambda: (s := job_status(db, job_id)) in OVER and s, timeout, f"job {job_id} to end"
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateRedis:
    """A redis-server of the test's own, to stop and start: with its append-only file
    (as docker-compose.yml runs it) or without (a restart forgets every queue)."""

    def __init__(self, folder: Path, *, appendonly: bool) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.argv = [
            shutil.which("redis-server") or "redis-server",
            *("--port", str(self.port), "--bind", "127.0.0.1", "--save", ""),
            *("--appendonly", "yes" if appendonly else "no", "--dir", str(folder)),
        ]
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL)
        wait_for(lambda: redis.Redis.from_url(self.url).ping(), 20, "the private redis")

    def stop(self) -> None:
        """Shut down as an operator would (the append-only file is written, if any)."""
        if self.proc is None:
            return
        with contextlib.suppress(redis.exceptions.ConnectionError):
            redis.Redis.from_url(self.url).shutdown()
        self.proc.wait(timeout=30)
        self.proc = None
