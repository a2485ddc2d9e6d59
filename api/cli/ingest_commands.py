"""``vidkg ingest``: register and probe videos (the indexer stages plug in behind this)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from api.cli.state import console, state
from indexer.catalog import register_video
from indexer.probe import ProbeError, VideoProbe

out = console()
err = console(stderr=True)


def describe(probe: VideoProbe) -> str:
    audio = f"audio {probe.audio_codec}" if probe.has_audio else "no audio"
    fps = f" @ {probe.fps:.3g} fps" if probe.fps else ""
    return (
        f"{probe.duration_s:.1f} s, {probe.width}x{probe.height}{fps}, {probe.video_codec}, {audio}"
    )


def ingest(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="Video files to ingest.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Register and probe videos. Bad input is rejected with its reason (exit code 1)
    and nothing is stored for it; the same file registered twice is detected."""
    cli = state(ctx)
    results: list[dict[str, Any]] = []
    for path in paths:
        try:
            reg = register_video(cli.db.sessions, cli.settings, path)
        except ProbeError as exc:
            results.append(
                {
                    "path": str(path),
                    "status": "rejected",
                    "reason": exc.reason.value,
                    "error": exc.detail,
                }
            )
            if not as_json:
                err.print(f"[red]rejected[/red] {path}: {exc.detail}", highlight=False)
            continue
        status = "registered" if reg.created else "already_registered"
        results.append(
            {
                "path": str(path),
                "status": status,
                "video_id": reg.video_id,
                "sha256": reg.sha256,
                "probe": reg.probe.to_json(),
            }
        )
        if not as_json:
            verb = "registered" if reg.created else "already registered as"
            out.print(
                f"{verb} video {reg.video_id}: {reg.probe.path.name} ({describe(reg.probe)})",
                highlight=False,
            )
    if as_json:
        print(json.dumps({"results": results}, indent=2))
    if any(r["status"] == "rejected" for r in results):
        raise typer.Exit(1)
