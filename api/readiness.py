"""Is this process ready to serve: the database answers with the schema this code needs,
and the broker (when one is configured) takes connections."""

from __future__ import annotations

from api.defs.ops import Readiness
from vidkg.db import Database, migrate
from vidkg.settings import Settings


def readiness(db: Database, settings: Settings) -> Readiness:
    expected = migrate.head_revision(settings)
    try:
        revision = migrate.current_revision(db.engine)
        database = "ok" if revision == expected else f"schema {revision}, needs {expected}"
    except Exception as exc:  # noqa: BLE001 - any failure means not ready; say which
        revision, database = None, f"unreachable: {type(exc).__name__}"
    broker = _broker(settings)
    return Readiness(
        ready=database == "ok" and broker in ("ok", "not configured"),
        database=database,
        schema_revision=revision,
        schema_expected=expected,
        broker=broker,
    )


def _broker(settings: Settings) -> str:
    if not settings.broker_url:
        return "not configured"
    from kombu import Connection

    try:
        with Connection(settings.broker_url, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return "ok"
    except Exception as exc:  # noqa: BLE001 - report, never raise
        return f"unreachable: {type(exc).__name__}"
