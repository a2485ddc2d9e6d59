"""``vidkg videos ...``: list, show and delete registered videos."""

from __future__ import annotations

import json

import typer
from rich import box
from rich.table import Table
from sqlalchemy import select, text

from api.cli.state import console, state
from indexer.catalog import delete_video
from vidkg.schema import Video

app = typer.Typer(help="Registered videos: list, show, delete.")
out = console()


def _clock(seconds: float) -> str:
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(int(minutes), 60)
    return f"{hours}:{minutes:02d}:{secs:04.1f}" if hours else f"{minutes}:{secs:04.1f}"


@app.command("list")
def list_videos(ctx: typer.Context) -> None:
    """List videos with their status and what was extracted (the v_videos view)."""
    with state(ctx).db.engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM v_videos ORDER BY video_id")).mappings().all()
    counts = ("scenes", "speech_segments", "onscreen_texts", "tracks", "events")
    table = Table(
        "id",
        "file",
        "status",
        "duration",
        "scenes",
        "speech",
        "text",
        "tracks",
        "events",
        box=box.SIMPLE_HEAD,
    )
    for r in rows:
        table.add_row(
            str(r["video_id"]),
            r["file_name"],
            r["status"],
            _clock(r["duration_s"]),
            *(str(r[k]) for k in counts),
        )
    out.print(table)


@app.command()
def show(ctx: typer.Context, video_id: int) -> None:
    """Print everything stored about one video, as JSON."""
    with state(ctx).db.sessions() as session:
        video = session.execute(select(Video).where(Video.id == video_id)).scalar_one_or_none()
    if video is None:
        out.print(f"no video {video_id}")
        raise typer.Exit(1)
    fields = {c.key: getattr(video, c.key) for c in Video.__table__.columns}
    print(json.dumps(fields, indent=2, default=str))


@app.command()
def delete(ctx: typer.Context, video_id: int) -> None:
    """Delete a video: all its rows (scenes, speech, graph...) and its derived files."""
    cli = state(ctx)
    if not delete_video(cli.db.sessions, cli.settings, video_id):
        out.print(f"no video {video_id}")
        raise typer.Exit(1)
    out.print(f"deleted video {video_id}")
