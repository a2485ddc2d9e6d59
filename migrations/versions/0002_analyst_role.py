"""Read-only analyst role: SELECT on every vidkg table and view, with a statement timeout.

``vidkg sql`` and analysts' own tools connect *as* this role (never ``SET ROLE`` from a
privileged session, which a query could undo). Roles are cluster-wide: when the
migrating user may not create roles (some managed databases), the role is left for an
administrator to create and only the grants are skipped with a notice.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
    DO $$
    BEGIN
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'vidkg_analyst') THEN
            IF (SELECT rolsuper OR rolcreaterole FROM pg_roles
                WHERE rolname = current_user) THEN
                CREATE ROLE vidkg_analyst LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
                ALTER ROLE vidkg_analyst SET default_transaction_read_only = on;
                ALTER ROLE vidkg_analyst SET statement_timeout = '30s';
                ALTER ROLE vidkg_analyst SET idle_in_transaction_session_timeout = '60s';
            ELSE
                RAISE NOTICE 'cannot create role vidkg_analyst: ask an administrator to create it';
                RETURN;
            END IF;
        END IF;
        EXECUTE format('GRANT CONNECT ON DATABASE %I TO vidkg_analyst', current_database());
        GRANT USAGE ON SCHEMA public TO vidkg_analyst;
        GRANT SELECT ON ALL TABLES IN SCHEMA public TO vidkg_analyst;
        REVOKE ALL ON alembic_version FROM vidkg_analyst;
        ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO vidkg_analyst;
    END
    $$""")


def downgrade() -> None:
    # The role is shared by every database of the cluster: revoke here, never drop it.
    op.execute("""
    DO $$
    BEGIN
        IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'vidkg_analyst') THEN
            ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE SELECT ON TABLES FROM vidkg_analyst;
            REVOKE SELECT ON ALL TABLES IN SCHEMA public FROM vidkg_analyst;
            REVOKE USAGE ON SCHEMA public FROM vidkg_analyst;
            EXECUTE format('REVOKE CONNECT ON DATABASE %I FROM vidkg_analyst', current_database());
        END IF;
    END
    $$""")
