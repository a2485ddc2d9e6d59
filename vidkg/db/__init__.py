"""Database access shared by every layer: one engine and session factory per process."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import URL, Engine
from sqlalchemy.orm import Session, sessionmaker

from vidkg.db import migrate
from vidkg.db.engine import make_engine, resolve_url
from vidkg.settings import Settings


@dataclass
class Database:
    """The process's handle on the database."""

    url: URL
    engine: Engine
    sessions: sessionmaker[Session]

    def dispose(self) -> None:
        self.engine.dispose()


def connect(settings: Settings) -> Database:
    """Connect (starting the embedded server if it is the configured one); no schema check."""
    engine = make_engine(resolve_url(settings))
    return Database(engine.url, engine, sessionmaker(engine, expire_on_commit=False))


def open_database(settings: Settings, *, migrate_schema: bool | None = None) -> Database:
    """Connect and make sure the schema is current.

    ``migrate_schema`` defaults to True for the embedded server (vidkg owns it) and to
    False for an external one, where migrating is an operator's explicit step
    (``vidkg db upgrade``) and a stale schema is reported instead of changed.
    """
    db = connect(settings)
    if migrate_schema is None:
        migrate_schema = settings.database_url is None
    if migrate_schema:
        migrate.upgrade(db.engine, settings)
    else:
        migrate.ensure_current(db.engine, settings)
    return db
