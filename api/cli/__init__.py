"""The ``vidkg`` command line."""

from __future__ import annotations

import os
from typing import Annotated

import typer
from pydantic import ValidationError

from api.cli import (
    apikey_commands,
    bench_command,
    db_commands,
    graph_commands,
    job_commands,
    video_commands,
)
from api.cli.ask_commands import ask, search
from api.cli.eval_command import eval_
from api.cli.ingest_commands import ingest
from api.cli.sql_command import sql
from api.cli.state import CliState
from vidkg.logs import configure_logging
from vidkg.settings import describe_invalid, get_settings

app = typer.Typer(
    help="vidkg: index long videos into an event knowledge graph and answer questions.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(db_commands.app, name="db")
app.add_typer(video_commands.app, name="videos")
app.add_typer(job_commands.app, name="jobs")
app.add_typer(bench_command.app, name="bench")
app.add_typer(graph_commands.app, name="graph")
app.add_typer(apikey_commands.app, name="apikeys")
app.command()(ingest)
app.command()(sql)
app.command()(search)
app.command()(ask)
app.command(name="eval")(eval_)


@app.callback()
def _root(ctx: typer.Context) -> None:
    try:
        settings = get_settings()
    except ValidationError as exc:
        typer.echo(f"vidkg: invalid settings\n{describe_invalid(exc)}", err=True)
        raise typer.Exit(2) from None
    configure_logging(settings.log_level, settings.home)
    ctx.obj = CliState(settings)


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[
        str | None, typer.Option(help="Bind address (default VIDKG_API__HOST).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default VIDKG_API__PORT).")] = None,
    workers: Annotated[
        int | None, typer.Option(help="HTTP processes (default VIDKG_API__WORKERS).")
    ] = None,
) -> None:
    """Run the HTTP API (OpenAPI at /docs). Without VIDKG_BROKER_URL it also runs
    queued ingest jobs in a child process."""
    from api.serve import serve as run_server

    run_server(ctx.obj.settings, host, port, workers)


@app.command()
def worker(
    ctx: typer.Context,
    queues: Annotated[
        str | None, typer.Option(help="Comma-separated queues (default: all of them).")
    ] = None,
    concurrency: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    name: Annotated[
        str | None, typer.Option(help="Celery node name (default: vidkg-<pid>@<host>).")
    ] = None,
    threads: Annotated[
        int | None,
        typer.Option(
            help="CPU threads per process for the models (default: VIDKG_INDEXER__THREADS, "
            "else cores / concurrency). Several workers on one machine: cores / all processes."
        ),
    ] = None,
) -> None:
    """Run a Celery worker consuming queues from VIDKG_BROKER_URL. Each process loads
    the models once and runs one unit (a chunk's stages) at a time."""
    from indexer.worker import BrokerNotConfigured, make_celery, recover_in_worker

    settings = ctx.obj.settings
    # More model threads than cores makes every process slower (measured: two workers of
    # two threads each on two cores took 1.8x as long as one), so divide the cores.
    per_process = threads or settings.indexer.threads or (os.cpu_count() or 1) // concurrency
    indexer = settings.indexer.model_copy(update={"threads": max(1, per_process)})
    settings = settings.model_copy(update={"indexer": indexer})
    typer.echo(f"vidkg worker: {concurrency} process(es), {indexer.threads} model thread(s) each")
    try:
        celery = make_celery(settings)
    except BrokerNotConfigured as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    recover_in_worker(celery, settings)
    queues = queues or ",".join(ctx.obj.settings.worker.queues)
    name = name or f"vidkg-{os.getpid()}@%h"  # unique: several workers per machine
    celery.worker_main(
        [
            "worker",
            "--queues",
            queues,
            "--concurrency",
            str(concurrency),
            "--hostname",
            name,
            "--loglevel",
            "INFO",
        ]
    )


def main() -> None:
    app()
