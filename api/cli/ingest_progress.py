"""Progress bars and the summary of ``vidkg ingest`` (rich), and its JSON form."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import asdict
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from indexer.plan import IngestReport


@contextmanager
def stage_bars(console: Console, stages: list[str], timeline_s: float, enabled: bool):
    """One bar per stage, advanced in seconds of timeline; yields the pipeline callback."""
    if not enabled:
        yield None
        return
    progress = Progress(
        TextColumn("{task.description:>8}"),
        BarColumn(),
        TextColumn("{task.completed:>7.0f}/{task.total:.0f} s of video"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
    tasks = {s: progress.add_task(s, total=max(timeline_s, 0.001)) for s in stages}
    with progress:
        yield lambda stage, seconds: progress.advance(tasks[stage], seconds)


def report_json(report: IngestReport) -> dict[str, Any]:
    data = asdict(report)
    data["realtime"] = round(report.realtime, 2)
    return data


def summary_table(report: IngestReport, counts: dict[str, int]) -> Table:
    table = Table(title=None, show_edge=False)
    for col in ("stage", "seconds", "rows", "chunks", "note"):
        table.add_column(col, justify="right" if col in ("seconds", "rows", "chunks") else "left")
    table.add_row("decode", f"{report.decode_s:.1f}", "", "", "")
    for name, st in report.stages.items():
        note = f"skipped: {st.skipped_reason}" if st.skipped_reason else ""
        if st.chunks_skipped:
            note = (note + "; " if note else "") + f"{st.chunks_skipped} chunk(s) already done"
        table.add_row(name, f"{st.seconds:.1f}", str(st.rows), str(st.chunks_done), note)
    if report.graph:
        g = report.graph
        note = f"{g.get('events', 0)} events, {g.get('entities', 0)} entities"
        rows = g.get("events", 0) + g.get("mentions", 0)
        table.add_row("graph", f"{report.graph_s:.1f}", str(rows), "", note)
    return table


def counts_line(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {k}" for k, n in counts.items())
