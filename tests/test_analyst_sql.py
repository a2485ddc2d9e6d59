"""Analyst SQL runs as the read-only vidkg_analyst role, one statement, with a timeout."""

from __future__ import annotations

import json

import pytest

from indexer.catalog import register_video
from retrieval.sql import AnalystQueryError, analyst_url, run_analyst_sql
from tests.support import VTEST, require, run_cli
from vidkg.db import Database
from vidkg.settings import Settings


def _run(db: Database, settings: Settings, query: str, **kw):  # noqa: ANN202
    opts = {"limit": 100, "timeout_s": 5.0} | kw
    return run_analyst_sql(analyst_url(settings, db.url), query, **opts)


def test_analyst_reads_tables_and_views(db: Database, settings: Settings) -> None:
    register_video(db.sessions, settings, require(VTEST))
    result = _run(db, settings, "SELECT file_name, width FROM v_videos")
    assert result.columns == ["file_name", "width"]
    assert result.rows == [("vtest.avi", 768)]
    assert _run(db, settings, "SELECT current_user").rows == [("vidkg_analyst",)]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("DELETE FROM videos", "read-only transaction"),
        ("SELECT 1; DROP TABLE videos", "multiple commands"),
        ("SELECT set_config('role', 'postgres', false)", "permission denied"),
        ("SELECT * FROM alembic_version", "permission denied"),
        ("SELECT pg_read_file('/etc/passwd')", "permission denied"),
        ("SELEC 1", "syntax error"),
        ("SET statement_timeout = 0", "returns no rows"),
    ],
)
def test_analyst_cannot_change_anything(
    db: Database, settings: Settings, query: str, message: str
) -> None:
    register_video(db.sessions, settings, require(VTEST))
    with pytest.raises(AnalystQueryError, match=message):
        _run(db, settings, query)
    assert _run(db, settings, "SELECT count(*) FROM videos").rows == [(1,)]


def test_long_queries_are_cancelled(db: Database, settings: Settings) -> None:
    with pytest.raises(AnalystQueryError, match="cancelled after 0.3 s"):
        _run(db, settings, "SELECT pg_sleep(10)", timeout_s=0.3)


def test_row_limit_and_cli(db: Database, settings: Settings) -> None:
    result = _run(db, settings, "SELECT g FROM generate_series(1, 10) g", limit=3)
    assert result.rows == [(1,), (2,), (3,)] and result.truncated
    cli = run_cli(settings, "sql", "--json", "SELECT 40 + 2 AS answer")
    assert cli.returncode == 0, cli.stderr
    assert json.loads(cli.stdout)["rows"] == [{"answer": 42}]
    bad = run_cli(settings, "sql", "DROP TABLE videos")
    assert bad.returncode == 1 and "query failed" in bad.stderr
