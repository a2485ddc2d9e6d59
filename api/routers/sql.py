"""One read-only SQL statement as the analyst role (`vidkg sql`), with a timeout and a
row cap; writes, several statements and server functions the role lacks are refused."""

from __future__ import annotations

import json

from fastapi import APIRouter

from api.auth import Reader
from api.defs.sql import SqlIn, SqlOut
from api.deps import Services
from retrieval.sql import analyst_url, run_analyst_sql

router = APIRouter(prefix="/v1", tags=["sql"])


@router.post("/sql", response_model=SqlOut)
def sql(body: SqlIn, app: Services, _: Reader) -> SqlOut:
    """Run one SELECT over the documented tables and views (see the README's data model).
    Refusals are 400 problem details with PostgreSQL's reason."""
    settings = app.settings
    limit = min(body.limit or settings.analyst_row_limit, settings.analyst_row_limit)
    result = run_analyst_sql(
        analyst_url(settings, app.db.url),
        body.sql,
        limit=limit,
        timeout_s=settings.analyst_statement_timeout_s,
    )
    rows = [dict(zip(result.columns, row, strict=True)) for row in result.rows]
    # Values PostgreSQL returns (intervals, decimals, vectors) as JSON the way the CLI does.
    rows = json.loads(json.dumps(rows, default=str))
    return SqlOut(columns=result.columns, rows=rows, truncated=result.truncated)
