"""The HTTP API's own tables: API keys, watches and their hits.

- ``api_keys``: a key is stored as the SHA-256 of its secret (keys are 256 random bits,
  so a fast hash is enough) with its scopes; the secret is shown once, at creation.
- ``watches``: standing queries matched against every newly indexed chunk, with an
  optional webhook. Its HMAC secret must be kept in clear to sign with.
- ``watch_hits``: what a watch matched, one row per moment, with its webhook delivery.

The analyst role may read ``watch_hits`` but neither ``api_keys`` nor ``watches``
(key hashes and webhook secrets are nobody's business in ad-hoc SQL).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

COMMENTS = {
    "api_keys": "API keys of the HTTP API: SHA-256 of the secret, scopes (read, ingest, "
    "admin), when created, last used and revoked.",
    "watches": "Standing queries matched against every newly indexed chunk; hits are "
    "stored in watch_hits and sent to the webhook, signed with HMAC-SHA256.",
    "watch_hits": "Moments a watch matched (video, seconds, source, text) and the state "
    "of their webhook delivery.",
}


def upgrade() -> None:
    op.execute("""
    CREATE TABLE api_keys (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        name text NOT NULL,
        prefix text NOT NULL,
        key_hash char(64) NOT NULL UNIQUE,
        scopes text[] NOT NULL CHECK (scopes <@ ARRAY['read', 'ingest', 'admin']::text[]
                                      AND cardinality(scopes) > 0),
        created_at timestamptz NOT NULL DEFAULT now(),
        last_used_at timestamptz,
        revoked_at timestamptz
    )""")
    op.execute("""
    CREATE TABLE watches (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        name text NOT NULL,
        query text NOT NULL,
        sources text[] NOT NULL,
        video_ids bigint[] NOT NULL DEFAULT '{}',
        webhook_url text,
        secret text NOT NULL,
        active boolean NOT NULL DEFAULT true,
        created_at timestamptz NOT NULL DEFAULT now()
    )""")
    op.execute("""
    CREATE TABLE watch_hits (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        watch_id bigint NOT NULL REFERENCES watches(id) ON DELETE CASCADE,
        video_id bigint NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
        chunk_index integer NOT NULL,
        start_s double precision NOT NULL,
        end_s double precision NOT NULL,
        source text NOT NULL,
        text text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        delivery text NOT NULL DEFAULT 'none'
            CHECK (delivery IN ('none', 'pending', 'delivered', 'failed')),
        attempts integer NOT NULL DEFAULT 0,
        last_error text,
        delivered_at timestamptz,
        UNIQUE (watch_id, video_id, source, start_s)
    )""")
    op.execute("CREATE INDEX ix_watch_hits_video ON watch_hits (video_id)")
    op.execute(
        "CREATE INDEX ix_watch_hits_delivery ON watch_hits (delivery) WHERE delivery = 'pending'"
    )
    quote = sa.String().literal_processor(dialect=op.get_bind().dialect)
    for table, comment in COMMENTS.items():
        op.execute(f"COMMENT ON TABLE {table} IS {quote(comment)}")
    op.execute("""
    DO $$ BEGIN
        IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'vidkg_analyst') THEN
            REVOKE ALL ON api_keys, watches FROM vidkg_analyst;
        END IF;
    END $$""")


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS watch_hits")
    op.execute("DROP TABLE IF EXISTS watches")
    op.execute("DROP TABLE IF EXISTS api_keys")
