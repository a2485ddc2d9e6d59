"""``vidkg serve``: uvicorn over the app, plus the runner process (jobs when there is no
broker, webhook re-sends always).

The schema is migrated once here, before the HTTP processes start, so ``--workers N``
never races N migrations.
"""

from __future__ import annotations

import ipaddress
import logging

import typer

from vidkg.db import open_database
from vidkg.settings import Settings

log = logging.getLogger(__name__)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(settings: Settings, host: str | None, port: int | None, workers: int | None) -> None:
    import uvicorn

    api = settings.api.model_copy(
        update={k: v for k, v in (("host", host), ("port", port), ("workers", workers)) if v}
    )
    settings = settings.model_copy(update={"api": api})
    if api.open and not is_loopback(api.host):
        typer.secho(
            f"warning: VIDKG_API__OPEN=true and bound to {api.host}: anyone who can reach "
            "this address reads, uploads and deletes without a key",
            err=True,
            fg="yellow",
        )
    open_database(settings).dispose()  # migrate once, before any worker starts
    from api.runner import start_runner

    runner = start_runner(settings, run_jobs=not settings.broker_url)
    if not settings.broker_url:
        typer.echo("vidkg serve: no VIDKG_BROKER_URL, ingest jobs run in this server", err=True)
    try:
        if api.workers > 1:  # each process builds its own app from the environment
            uvicorn.run(
                "api.app:create_app",
                factory=True,
                host=api.host,
                port=api.port,
                workers=api.workers,
            )
        else:
            from api.app import create_app

            uvicorn.run(create_app(settings), host=api.host, port=api.port)
    finally:
        if runner.is_alive():
            runner.terminate()
            runner.join(30)
