"""Analyst SQL: one read-only statement, run as the ``vidkg_analyst`` role, with a timeout.

The connection logs in as the analyst role (created by migration 0002 with SELECT
only, read-only transactions and a statement timeout), so a query cannot raise its own
privileges. The statement is sent as a prepared statement, which PostgreSQL accepts only
for a single command.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from sqlalchemy.engine import URL, make_url

from vidkg.settings import Settings

ANALYST_ROLE = "vidkg_analyst"


class AnalystQueryError(ValueError):
    """The query was refused or failed; the message is PostgreSQL's, for the analyst."""


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool  # more rows existed than the limit


def analyst_url(settings: Settings, database_url: URL) -> URL:
    """VIDKG_ANALYST_DATABASE_URL, else the main database's location as the analyst role
    (passwordless: the embedded server trusts its own Unix socket)."""
    if settings.analyst_database_url is not None:
        return make_url(settings.analyst_database_url.get_secret_value())
    return database_url.set(username=ANALYST_ROLE, password=None)


def run_analyst_sql(url: URL, query: str, *, limit: int, timeout_s: float) -> QueryResult:
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    options = f"-c statement_timeout={int(timeout_s * 1000)} -c default_transaction_read_only=on"
    try:
        with psycopg.connect(dsn, options=options, connect_timeout=10) as conn:
            with conn.cursor() as cur:
                cur.execute(query, prepare=True)
                if cur.description is None:
                    raise AnalystQueryError("the statement returns no rows: only queries run")
                rows = cur.fetchmany(limit + 1)
                columns = [d.name for d in cur.description]
            conn.rollback()
    except psycopg.errors.QueryCanceled as exc:
        raise AnalystQueryError(
            f"query cancelled after {timeout_s:g} s (statement timeout)"
        ) from exc
    except psycopg.Error as exc:
        message = (exc.diag.message_primary if exc.diag else None) or str(exc)
        raise AnalystQueryError(message) from exc
    return QueryResult(columns, [tuple(r) for r in rows[:limit]], len(rows) > limit)
