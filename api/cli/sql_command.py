"""``vidkg sql``: one read-only query over the extracted events, as the analyst role."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from api.cli.state import console, state
from retrieval.sql import AnalystQueryError, analyst_url, run_analyst_sql

out = console()
err = console(stderr=True)


def sql(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="One SELECT (or WITH ... SELECT) statement.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print rows as JSON.")] = False,
    limit: Annotated[int | None, typer.Option(help="Rows at most.")] = None,
) -> None:
    """Run one read-only SQL query as the vidkg_analyst role (see README: Data model)."""
    cli = state(ctx)
    settings = cli.settings
    url = analyst_url(settings, cli.db.url)
    try:
        result = run_analyst_sql(
            url,
            query,
            limit=limit or settings.analyst_row_limit,
            timeout_s=settings.analyst_statement_timeout_s,
        )
    except AnalystQueryError as exc:
        err.print(f"[red]query failed:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None
    if as_json:
        rows = [dict(zip(result.columns, row, strict=True)) for row in result.rows]
        print(
            json.dumps(
                {"columns": result.columns, "rows": rows, "truncated": result.truncated},
                default=str,
                indent=2,
            )
        )
        return
    table = Table(*result.columns, box=box.SIMPLE_HEAD)
    for row in result.rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    out.print(table)
    more = " (more rows exist: use --limit)" if result.truncated else ""
    out.print(f"{len(result.rows)} rows{more}")
