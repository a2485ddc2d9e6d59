"""``vidkg ingest``: register videos, then run the indexer stages over them.

Re-running resumes: chunks whose stage is already done are skipped, so an interrupted
ingest continues where it stopped and a second run of a finished one costs nothing.
Without a broker the job runs in this process; with ``VIDKG_BROKER_URL`` it is sent to
the workers (``vidkg worker``) and followed from the database.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from api.cli.ingest_progress import counts_line, report_json, stage_bars, summary_table
from api.cli.job_follow import follow, headline, progress_table
from api.cli.state import CliState, console, state
from indexer.catalog import register_video
from indexer.pipeline import Pipeline
from indexer.plan import parse_stages
from indexer.probe import ProbeError, VideoProbe
from indexer.readback import evidence_counts

out = console()
err = console(stderr=True)


def describe(probe: VideoProbe) -> str:
    audio = f"audio {probe.audio_codec}" if probe.has_audio else "no audio"
    if not probe.has_video:
        return f"{probe.duration_s:.1f} s, audio-only ({probe.audio_codec})"
    fps = f" @ {probe.fps:.3g} fps" if probe.fps else ""
    text = f"{probe.duration_s:.1f} s, {probe.width}x{probe.height}{fps}, {probe.video_codec}, "
    text += audio
    if probe.decodable_s is not None:
        text += f"; truncated: data ends at {probe.decodable_s:.1f} s"
    return text


def ingest(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="Video files to ingest.")],
    stages: Annotated[
        str | None,
        typer.Option(help="Comma-separated stages (default: VIDKG_INDEXER__STAGES, all)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
    register_only: Annotated[
        bool, typer.Option("--register-only", help="Probe and register; run no stage.")
    ] = False,
    no_wait: Annotated[
        bool,
        typer.Option("--no-wait", help="With VIDKG_BROKER_URL: submit, print the job id, return."),
    ] = False,
) -> None:
    """Register videos and index them: scenes, speech, on-screen text, objects, embeddings
    and captions. Bad input is rejected with its reason (exit code 1) and nothing is
    stored for it; a file already registered is resumed, not duplicated. With
    VIDKG_BROKER_URL set, the job runs on the workers and this command follows it."""
    cli = state(ctx)
    if no_wait and not cli.settings.broker_url:
        err.print(
            "[red]error[/red]: --no-wait needs workers: set VIDKG_BROKER_URL "
            "(without a broker, ingest runs in this process)",
            highlight=False,
        )
        raise typer.Exit(2)
    try:
        chosen = [] if register_only else parse_stages(stages, cli.settings.indexer.stages)
    except ValueError as exc:
        err.print(f"[red]error[/red]: {exc}", highlight=False)
        raise typer.Exit(2) from None
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
        result: dict[str, Any] = {
            "path": str(path),
            "status": "registered" if reg.created else "already_registered",
            "video_id": reg.video_id,
            "sha256": reg.sha256,
            "probe": reg.probe.to_json(),
        }
        results.append(result)
        if not as_json:
            verb = "registered" if reg.created else "already registered as"
            out.print(
                f"{verb} video {reg.video_id}: {reg.probe.path.name} ({describe(reg.probe)})",
                highlight=False,
            )
        if chosen and cli.settings.broker_url:
            _submit(cli, reg.video_id, reg.probe, chosen, result, as_json, wait=not no_wait)
        elif chosen:
            _index(cli, reg.video_id, reg.probe, chosen, result, as_json)
    if as_json:
        print(json.dumps({"results": results}, indent=2))
    if any(r["status"] in ("rejected", "failed", "cancelled") for r in results):
        raise typer.Exit(1)


def _submit(
    cli: CliState,
    video_id: int,
    probe: VideoProbe,
    stages: list[str],
    result: dict[str, Any],
    as_json: bool,
    wait: bool,
) -> None:
    """Send the video's job to the workers and (unless ``wait`` is off) follow it."""
    from indexer.worker import BrokerUnreachable, submit_job

    try:
        job, created = submit_job(cli.db, cli.settings, video_id, stages)
    except BrokerUnreachable as exc:
        result.update(status="failed", error=str(exc))
        if not as_json:
            err.print(f"[red]error[/red]: {exc}", highlight=False)
        return
    result.update(status="submitted", job_id=job.id)
    if not as_json:
        verb = "submitted as" if created else "already being ingested by"
        out.print(f"video {video_id} {verb} job {job.id}", highlight=False)
    if not wait:
        return
    bars = not as_json and err.is_terminal
    w = cli.settings.worker
    progress = follow(cli.db, job.id, err, w.poll_s, bars, w.stall_warning_s)
    counts = evidence_counts(cli.db.sessions, video_id)
    ok = "partial" if probe.decodable_s is not None else "ingested"
    status = {"succeeded": ok}.get(progress.status, progress.status)
    result.update(status=status, job=progress.to_json(), counts=counts)
    if as_json:
        return
    out.print(progress_table(progress))
    out.print(f"{headline(progress)}; {counts_line(counts)}", highlight=False)
    for e in progress.errors:
        err.print(f"[yellow]{e['stage']}[/yellow]: {e['error']}", highlight=False)


def _index(
    cli: CliState,
    video_id: int,
    probe: VideoProbe,
    stages: list[str],
    result: dict[str, Any],
    as_json: bool,
) -> None:
    pipeline = Pipeline(cli.db, cli.settings, cli.registry)
    timeline = probe.decodable_s or probe.duration_s
    with stage_bars(err, stages, timeline, enabled=not as_json and err.is_terminal) as progress:
        report = pipeline.ingest(video_id, stages, progress)
    counts = evidence_counts(cli.db.sessions, video_id)
    status = "partial" if probe.decodable_s is not None else "ingested"
    result.update(
        status="failed" if report.status == "failed" else status,
        report=report_json(report),
        counts=counts,
    )
    if as_json:
        return
    out.print(summary_table(report, counts))
    out.print(
        f"video {video_id}: {counts_line(counts)}; {report.wall_s:.1f} s wall, "
        f"{report.realtime:.1f}x realtime",
        highlight=False,
    )
    for failure in report.failures:
        err.print(f"[yellow]{failure['stage']}[/yellow]: {failure['error']}", highlight=False)
