"""Migrations on the real embedded PostgreSQL: up, down, up, and agreement with the ORM."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from vidkg.db import Database, migrate
from vidkg.schema import Base
from vidkg.settings import Settings

TABLES = set(Base.metadata.tables)
VIEWS = {
    "v_timeline",
    "v_videos",
    "v_entity_mentions",
    "v_ingest_progress",
    "v_scene_objects",
    "v_job_progress",
    "v_entity_timeline",
    "v_event_graph",
}


def _relations(db: Database) -> tuple[set[str], set[str]]:
    insp = inspect(db.engine)
    return set(insp.get_table_names()) - {"alembic_version"}, set(insp.get_view_names())


def test_migrations_up_down_up(db: Database, settings: Settings) -> None:
    assert migrate.current_revision(db.engine) == migrate.head_revision(settings)
    assert _relations(db) == (TABLES, VIEWS)

    migrate.downgrade(db.engine, settings, "base")
    assert migrate.current_revision(db.engine) is None
    assert _relations(db) == (set(), set())

    migrate.upgrade(db.engine, settings)
    assert _relations(db) == (TABLES, VIEWS)


def test_orm_models_match_the_migrated_schema(db: Database) -> None:
    def skip_vector_dims(context, inspected, metadata, *_):  # noqa: ANN001
        # The ORM declares vector columns without a size; the migration fixes it.
        return False if type(metadata.type).__name__ == "VECTOR" else None

    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn, opts={"compare_type": skip_vector_dims, "compare_server_default": False}
        )
        diff = compare_metadata(ctx, Base.metadata)
    # Indexes and comments live only in the migration (the DDL contract); everything
    # else (tables, columns, types, nullability, keys, unique constraints) must agree.
    migration_only = {"remove_index", "modify_comment", "remove_table_comment"}
    changes = [d[0] if isinstance(d, list) else d for d in diff]
    assert [c for c in changes if c[0] not in migration_only] == []
    assert {c[0] for c in changes} <= migration_only


def test_every_table_and_view_is_documented(db: Database) -> None:
    with db.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT c.relname, obj_description(c.oid, 'pg_class') FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'v') "
                "AND c.relname <> 'alembic_version'"
            )
        ).all()
    assert {name for name, _ in rows} == TABLES | VIEWS
    undocumented = [name for name, comment in rows if not comment]
    assert undocumented == []


def test_vector_columns_have_configured_dimensions_and_hnsw(db: Database) -> None:
    with db.engine.connect() as conn:
        dims = dict(
            conn.execute(
                text(
                    "SELECT attrelid::regclass::text, atttypmod FROM pg_attribute "
                    "WHERE attname = 'embedding' AND NOT attisdropped "
                    "AND attrelid::regclass::text = ANY(:tables)"
                ),
                {"tables": list(TABLES)},
            ).all()
        )
        hnsw = set(
            conn.execute(
                text("SELECT tablename FROM pg_indexes WHERE indexdef LIKE '%USING hnsw%'")
            ).scalars()
        )
    assert dims == {
        "frames": 512,
        "speech_segments": 384,
        "onscreen_text": 384,
        "captions": 384,
        "events": 384,
    }
    assert hnsw == set(dims)


def test_every_video_reference_cascades(db: Database) -> None:
    with db.engine.connect() as conn:
        rules = conn.execute(
            text(
                "SELECT tc.table_name, rc.delete_rule "
                "FROM information_schema.referential_constraints rc "
                "JOIN information_schema.table_constraints tc "
                "  ON tc.constraint_name = rc.constraint_name "
                "JOIN information_schema.constraint_column_usage cu "
                "  ON cu.constraint_name = rc.constraint_name "
                "WHERE cu.table_name = 'videos'"
            )
        ).all()
    # entities are shared; event_sources go with their event (which cascades); keys and
    # watches belong to the service, not to a video.
    owned = TABLES - {"videos", "entities", "event_sources", "api_keys", "watches"}
    assert {table for table, _ in rules} == owned
    assert {rule for _, rule in rules} == {"CASCADE"}
