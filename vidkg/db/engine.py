"""Where the database is, and the SQLAlchemy engine that talks to it."""

from __future__ import annotations

from sqlalchemy import create_engine
from sqlalchemy.engine import URL, Engine, make_url

from vidkg.db.embedded import EmbeddedPostgres
from vidkg.settings import Settings


def embedded_server(settings: Settings) -> EmbeddedPostgres:
    return EmbeddedPostgres(settings.pgdata_dir, settings.embedded_database)


def resolve_url(settings: Settings) -> URL:
    """VIDKG_DATABASE_URL when set; otherwise the embedded server, started if needed."""
    if settings.database_url is not None:
        url = make_url(settings.database_url.get_secret_value())
        if url.drivername in ("postgresql", "postgres"):
            url = url.set(drivername="postgresql+psycopg")
        return url
    return embedded_server(settings).start()


def make_engine(url: URL) -> Engine:
    # pool_pre_ping: workers hold engines for hours; a restarted server must not
    # surface as an error on the next task.
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)
