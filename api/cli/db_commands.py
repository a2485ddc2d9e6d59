"""``vidkg db ...``: the embedded server's lifecycle and schema migrations."""

from __future__ import annotations

from typing import Annotated

import typer

from api.cli.state import console, state
from vidkg.db import connect, migrate
from vidkg.db.engine import embedded_server

app = typer.Typer(help="Database: start/stop the embedded server, migrate, print the URL.")
out = console()


def _require_embedded(ctx: typer.Context) -> None:
    if state(ctx).settings.database_url is not None:
        out.print("VIDKG_DATABASE_URL is set: the database is external, not embedded.")
        raise typer.Exit(1)


@app.command()
def start(ctx: typer.Context) -> None:
    """Start the embedded PostgreSQL (if needed) and migrate it to the latest schema."""
    _require_embedded(ctx)
    db = state(ctx).db
    out.print(f"embedded PostgreSQL running, schema at {migrate.current_revision(db.engine)}")
    out.print(db.url.set(drivername="postgresql").render_as_string())


@app.command()
def stop(ctx: typer.Context) -> None:
    """Stop the embedded PostgreSQL."""
    _require_embedded(ctx)
    stopped = embedded_server(state(ctx).settings).stop()
    out.print("stopped" if stopped else "not running")


@app.command()
def status(ctx: typer.Context) -> None:
    """Show where the database is, whether it runs, and its schema revision."""
    settings = state(ctx).settings
    if settings.database_url is None:
        st = embedded_server(settings).status()
        out.print(f"embedded PostgreSQL in {st.pgdata}")
        if not st.running:
            out.print("not running" + ("" if st.initialised else " (not initialised yet)"))
            return
        out.print(f"running: pid {st.pid}, socket {st.socket_dir}, port {st.port}")
    db = connect(settings)
    current = migrate.current_revision(db.engine)
    head = migrate.head_revision(settings)
    out.print(f"schema revision {current or 'none'} (latest {head})")


@app.command()
def upgrade(ctx: typer.Context, revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply migrations up to REVISION (default: the latest)."""
    settings = state(ctx).settings
    db = connect(settings)
    migrate.upgrade(db.engine, settings, revision)
    out.print(f"schema at {migrate.current_revision(db.engine)}")


@app.command()
def downgrade(ctx: typer.Context, revision: Annotated[str, typer.Argument()]) -> None:
    """Revert migrations down to REVISION ('base' drops every vidkg table)."""
    settings = state(ctx).settings
    db = connect(settings)
    migrate.downgrade(db.engine, settings, revision)
    out.print(f"schema at {migrate.current_revision(db.engine) or 'base'}")


@app.command()
def url(ctx: typer.Context) -> None:
    """Print a libpq URL for psql and other tools: psql "$(vidkg db url)"."""
    settings = state(ctx).settings
    db = connect(settings)
    print(db.url.set(drivername="postgresql").render_as_string(hide_password=True))
