"""The Celery application: thin task wrappers over the same functions the CLI calls.

Queues are split by resource so machines can specialise (``Settings.worker_queues``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from celery import Celery

from indexer.catalog import register_video
from vidkg.db import Database, open_database
from vidkg.settings import Settings


class BrokerNotConfigured(RuntimeError):
    pass


def make_celery(settings: Settings) -> Celery:
    if not settings.broker_url:
        raise BrokerNotConfigured(
            "VIDKG_BROKER_URL is not set (e.g. redis://127.0.0.1:6379/0 or "
            "amqp://guest:guest@127.0.0.1:5672//); without it vidkg ingests in-process"
        )
    app = Celery("vidkg", broker=settings.broker_url)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue="default",
        task_ignore_result=True,  # job state lives in PostgreSQL, not in a result backend
        broker_connection_retry_on_startup=True,
    )

    opened: list[Database] = []

    def database() -> Database:
        """One Database per worker process, opened by its first task (after the fork)."""
        if not opened:
            opened.append(open_database(settings))
        return opened[0]

    @app.task(name="vidkg.register_video")
    def register(path: str) -> dict[str, Any]:
        reg = register_video(database().sessions, settings, Path(path))
        return {"video_id": reg.video_id, "created": reg.created}

    return app
