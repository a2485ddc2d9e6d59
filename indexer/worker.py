"""The Celery application: thin task wrappers over the same functions the CLI calls.

Queues are split by resource so machines can specialise: ``default`` (bookkeeping),
``asr``, ``vision`` (where GPU workers listen) and ``graph``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from celery import Celery

from vidkg.settings import Settings

QUEUES = ("default", "asr", "vision", "graph")


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

    @app.task(name="vidkg.register_video")
    def register(path: str) -> dict[str, Any]:
        from indexer.catalog import register_video
        from vidkg.db import open_database

        db = _process_database(app, settings, open_database)
        reg = register_video(db.sessions, settings, Path(path))
        return {"video_id": reg.video_id, "created": reg.created}

    return app


def _process_database(app: Celery, settings: Settings, opener: Any) -> Any:
    """One Database per worker process, opened by its first task."""
    db = getattr(app, "_vidkg_db", None)
    if db is None:
        db = opener(settings)
        app._vidkg_db = db
    return db
