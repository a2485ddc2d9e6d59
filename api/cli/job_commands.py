"""``vidkg jobs list|show|cancel|retry``: ingest jobs, wherever they run.

Job state is in PostgreSQL, so these commands work from any machine that reaches the
database; ``retry`` sends the job to the workers when ``VIDKG_BROKER_URL`` is set and
runs it in this process otherwise.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from api.cli.job_follow import follow, headline, progress_table, read_progress
from api.cli.state import CliState, console, state
from indexer.job_progress import JobProgress
from indexer.jobs import JobError, JobStore

app = typer.Typer(help="Ingest jobs: progress, errors, cancel and retry.", no_args_is_help=True)
out = console()
err = console(stderr=True)


def _store(cli: CliState) -> JobStore:
    return JobStore(cli.db.sessions)


@app.command("list")
def list_jobs(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option(help="Only jobs with this status.")] = None,
    limit: Annotated[int, typer.Option(help="Newest jobs first, at most this many.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Jobs, newest first, with their progress."""
    cli = state(ctx)
    progress = [
        read_progress(cli.db, job.id) for job in _store(cli).list(status=status, limit=limit)
    ]
    if as_json:
        print(json.dumps([p.to_json() for p in progress], indent=2))
        return
    table = Table("job", "video", "file", "status", "done", "elapsed s", "error", show_edge=False)
    for p in progress:
        table.add_row(
            str(p.job_id),
            str(p.video_id),
            p.file_name,
            p.status,
            f"{100 * p.fraction:.0f}%",
            "" if p.elapsed_s is None else f"{p.elapsed_s:.0f}",
            (p.error or "")[:60],
        )
    out.print(table)


@app.command()
def show(
    ctx: typer.Context,
    job_id: Annotated[int, typer.Argument(help="Job id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Status, per-stage progress, units running, errors and ETA of one job."""
    cli = state(ctx)
    progress = _get(cli, job_id)
    if as_json:
        print(json.dumps(progress.to_json(), indent=2))
        return
    out.print(headline(progress), highlight=False)
    out.print(progress_table(progress))
    for unit in progress.running:
        out.print(
            f"running: {unit['stage']} chunk {unit['chunk']} on {unit['worker']} "
            f"(attempt {unit['attempts']})",
            highlight=False,
        )
    for r in progress.recoveries:
        out.print(
            f"taken back {r['created_at']}: {r['unit']} chunk {r['chunk']}, {r['action']}"
            f" ({r['cause']}): {r['reason']}",
            highlight=False,
        )
    for e in progress.errors:
        err.print(
            f"[yellow]{e['stage']}[/yellow] {e['start_s']:.1f}-{e['end_s']:.1f} s: {e['error']}",
            highlight=False,
        )


@app.command()
def cancel(ctx: typer.Context, job_id: Annotated[int, typer.Argument(help="Job id.")]) -> None:
    """Stop a job: no new chunk starts; chunks already running finish and are kept."""
    cli = state(ctx)
    try:
        job = _store(cli).cancel(job_id)
    except (JobError, LookupError) as exc:
        err.print(f"[red]error[/red]: {exc}", highlight=False)
        raise typer.Exit(1) from None
    out.print(f"job {job.id} cancelled; `vidkg jobs retry {job.id}` resumes it", highlight=False)


@app.command()
def retry(
    ctx: typer.Context,
    job_id: Annotated[int, typer.Argument(help="Job id.")],
    force: Annotated[
        bool, typer.Option(help="Also re-send an active job's unfinished units.")
    ] = False,
    no_wait: Annotated[bool, typer.Option("--no-wait", help="Send it and return.")] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the final status as JSON.")
    ] = False,
) -> None:
    """Run a failed or cancelled job again: only what is missing or failed is redone."""
    cli = state(ctx)
    try:
        job = _store(cli).retry(job_id, force=force)
    except (JobError, LookupError) as exc:
        err.print(f"[red]error[/red]: {exc}", highlight=False)
        raise typer.Exit(1) from None
    if cli.settings.broker_url:
        from indexer.worker import BrokerUnreachable, resend_job

        try:
            resend_job(cli.db, cli.settings, job.id)
        except BrokerUnreachable as exc:
            err.print(f"[red]error[/red]: {exc}", highlight=False)
            raise typer.Exit(1) from None
        if no_wait:
            out.print(f"job {job.id} queued", highlight=False)
            return
        w = cli.settings.worker
        bars = err.is_terminal and not as_json
        follow(cli.db, job.id, err, w.poll_s, bars, w.stall_warning_s)
    else:
        from indexer.pipeline import Pipeline

        Pipeline(cli.db, cli.settings, cli.registry).run_job(job.id)
    _finish(cli, job.id, as_json)


def _finish(cli: CliState, job_id: int, as_json: bool) -> None:
    progress = read_progress(cli.db, job_id)
    if as_json:
        print(json.dumps(progress.to_json(), indent=2))
    else:
        out.print(headline(progress), highlight=False)
        out.print(progress_table(progress))
    if progress.status != "succeeded":
        raise typer.Exit(1)


def _get(cli: CliState, job_id: int) -> JobProgress:
    try:
        return read_progress(cli.db, job_id)
    except LookupError as exc:
        err.print(f"[red]error[/red]: {exc}", highlight=False)
        raise typer.Exit(1) from None
