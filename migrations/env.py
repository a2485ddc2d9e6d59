"""Alembic environment: runs migrations on the connection vidkg.db.migrate hands over.

Run through ``vidkg db upgrade|downgrade``, which holds an advisory lock so that several
processes starting at once migrate exactly once. Invoked from the plain ``alembic`` CLI
(e.g. ``alembic revision``), it resolves the database from the vidkg settings instead.
"""

from __future__ import annotations

from alembic import context

from vidkg.db.engine import resolve_url
from vidkg.settings import get_settings

config = context.config
config.attributes.setdefault("settings", get_settings())


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, transactional_ddl=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    from sqlalchemy import create_engine

    engine = create_engine(resolve_url(config.attributes["settings"]))
    with engine.begin() as conn:
        context.configure(connection=conn, transactional_ddl=True)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; use vidkg db upgrade")
run_migrations_online()
