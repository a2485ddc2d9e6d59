"""Following a job that workers run: live bars from the database, then a summary.

The CLI only reads PostgreSQL (``indexer.job_progress``), so it can follow a job from
any machine, stop following (Ctrl-C) without stopping the job, and ride out a database
restart.
"""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from indexer.faults import is_transient
from indexer.job_progress import JobProgress, job_progress
from indexer.jobs import JobStore
from vidkg.db import Database


def read_progress(db: Database, job_id: int) -> JobProgress:
    return job_progress(db.sessions, JobStore(db.sessions).get(job_id))


def follow(
    db: Database, job_id: int, console: Console, poll_s: float, bars: bool, stall_s: float
) -> JobProgress:
    """Poll the job until it is over; show one bar per stage when ``bars``. A job where
    no unit started or ended for ``stall_s`` gets a warning saying what to check."""
    unreachable = False
    warned = False
    display = _Bars(console) if bars else None
    try:
        while True:
            try:
                progress = read_progress(db, job_id)
            except Exception as exc:
                if not is_transient(exc):
                    raise
                if not unreachable:
                    console.print(
                        f"[yellow]database unreachable[/yellow] ({exc.__class__.__name__}); "
                        "still following",
                        highlight=False,
                    )
                unreachable = True
                time.sleep(poll_s)
                continue
            unreachable = False
            if display:
                display.update(progress)
            if progress.over:
                return progress
            if progress.idle_s > stall_s and not warned:
                console.print(stall_warning(progress), highlight=False)
            warned = progress.idle_s > stall_s
            time.sleep(poll_s)
    finally:
        if display:
            display.stop()


class _Bars:
    def __init__(self, console: Console) -> None:
        self.progress = Progress(
            TextColumn("{task.description:>8}"),
            BarColumn(),
            TextColumn("{task.completed:>7.0f}/{task.total:.0f} s of video"),
            TextColumn("{task.fields[note]}"),
            TimeElapsedColumn(),
            console=console,
        )
        self.tasks: dict[str, int] = {}
        self.progress.start()

    def update(self, p: JobProgress) -> None:
        for name, st in p.stages.items():
            if name not in self.tasks:
                self.tasks[name] = self.progress.add_task(
                    name, total=max(p.timeline_s, 0.001), note=""
                )
            note = f"{st.chunks_running} running" if st.chunks_running else ""
            if st.chunks_failed:
                note += f" {st.chunks_failed} failed"
            self.progress.update(self.tasks[name], completed=st.seconds_done, note=note)

    def stop(self) -> None:
        self.progress.stop()


def progress_table(p: JobProgress) -> Table:
    table = Table(show_edge=False)
    for col in ("stage", "chunks", "failed", "skipped", "running", "work s", "rows"):
        table.add_column(col, justify="left" if col == "stage" else "right")
    for name, st in p.stages.items():
        table.add_row(
            name,
            f"{st.chunks_done + st.chunks_skipped + st.chunks_failed}/{st.chunks_total}",
            str(st.chunks_failed),
            str(st.chunks_skipped),
            str(st.chunks_running),
            f"{st.work_s:.1f}",
            str(st.rows_written),
        )
    return table


def headline(p: JobProgress) -> str:
    text = f"job {p.job_id} ({p.file_name}, video {p.video_id}): {p.status}, "
    text += f"{100 * p.fraction:.0f}% done"
    if p.elapsed_s is not None:
        text += f", {p.elapsed_s:.0f} s elapsed"
    if p.eta_s is not None:
        text += f", about {p.eta_s:.0f} s left"
    if not p.over and p.idle_s >= 60:
        text += f", no unit started or ended for {p.idle_s:.0f} s"
    return text


def stall_warning(p: JobProgress) -> str:
    return (
        f"[yellow]job {p.job_id}: no unit started or finished for {p.idle_s:.0f} s.[/yellow] "
        "Are workers running and listening on its queues (`celery -b $VIDKG_BROKER_URL "
        "inspect active_queues`)? If the broker lost its queue (Redis restarted without "
        f"persistence), `vidkg jobs retry {p.job_id} --force` sends the units again."
    )
