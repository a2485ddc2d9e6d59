"""Apply Alembic migrations safely from any vidkg process.

Migrations run inside one transaction that first takes a PostgreSQL advisory lock, so
when the CLI, the API and several workers start together on a fresh database, exactly
one of them migrates and the others wait, then find the schema current.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Engine

import migrations
from vidkg.settings import Settings

# Arbitrary constant: the advisory-lock key that serialises schema changes.
MIGRATION_LOCK_KEY = 0x76_69_64_6B_67  # "vidkg"


class SchemaOutOfDate(RuntimeError):
    """The database schema is behind (or ahead of) this version of vidkg."""


def alembic_config(settings: Settings) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(migrations.__file__).parent))
    cfg.attributes["settings"] = settings
    return cfg


def head_revision(settings: Settings) -> str:
    head = ScriptDirectory.from_config(alembic_config(settings)).get_current_head()
    assert head is not None, "the migrations folder has no revisions"
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _run(engine: Engine, settings: Settings, action: str, revision: str) -> None:
    cfg = alembic_config(settings)
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        cfg.attributes["connection"] = conn
        getattr(command, action)(cfg, revision)


def upgrade(engine: Engine, settings: Settings, revision: str = "head") -> None:
    _run(engine, settings, "upgrade", revision)


def downgrade(engine: Engine, settings: Settings, revision: str) -> None:
    _run(engine, settings, "downgrade", revision)


def ensure_current(engine: Engine, settings: Settings) -> None:
    """Raise a clear error when the schema does not match this vidkg version."""
    current, head = current_revision(engine), head_revision(settings)
    if current != head:
        raise SchemaOutOfDate(
            f"database schema is at revision {current or 'none'}, this vidkg needs {head}: "
            "run `vidkg db upgrade`"
        )
