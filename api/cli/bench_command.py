"""``vidkg bench ingest VIDEO``: where ingest time goes, x realtime and peak memory.

The run uses a private, fresh embedded database (nothing is resumed, nothing of the
user's is touched) and this process's own models, so its numbers are one cold ingest.
Memory is sampled after every chunk and stage so growth with video length shows.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import text

from api.cli.state import CliState, console, state
from indexer.models import ModelRegistry
from indexer.plan import parse_stages
from indexer.probe import ProbeError
from vidkg.db import Database, open_database
from vidkg.db.embedded import EmbeddedPostgres
from vidkg.settings import Settings

app = typer.Typer(help="Benchmarks (numbers for people, never timed tests).")
out = console()
err = console(stderr=True)


@app.command("ingest")
def bench_ingest(
    ctx: typer.Context,
    video: Annotated[Path, typer.Argument(help="Video to ingest.")],
    stages: Annotated[str | None, typer.Option(help="Comma-separated stages.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
    workers: Annotated[
        int,
        typer.Option(
            help="Run on this many `vidkg worker` processes over VIDKG_BROKER_URL "
            "(0: in this process)."
        ),
    ] = 0,
    truth: Annotated[
        Path | None,
        typer.Option(help="A haystack's truth.json: score what was extracted (WER, texts, cuts)."),
    ] = None,
    floor: Annotated[
        bool,
        typer.Option(help="Also time shot detection alone and speech alone: the floor."),
    ] = False,
) -> None:
    """Ingest VIDEO into a throw-away database and report seconds per stage, x realtime
    and peak RSS."""
    from api.cli.bench_ingest import bench_ingest as run

    cli = state(ctx)
    chosen = parse_stages(stages, cli.settings.indexer.stages)
    if truth is not None:
        _check_truth(truth)
    if workers:
        scratch = Path(tempfile.mkdtemp(prefix="vidkg-bench-"))
        settings = cli.settings.model_copy(update={"home": scratch, "database_url": None})
        _bench_workers(settings, video, chosen, workers)
        return
    registry = ModelRegistry(cli.settings.indexer, cli.settings.model_cache_dir)
    result = run(cli.settings, registry, video, chosen, truth, floor)
    if as_json:
        print(json.dumps(result, indent=2))
        return
    _print_ingest(result)


def _check_truth(truth: Path) -> None:
    """Refuse a file that is not a haystack's truth before an ingest of many minutes."""
    try:
        data = json.loads(truth.read_text())
        keys = {"meta", "speech", "onscreen_text", "cuts", "questions"}
        ok = (
            isinstance(data, dict)
            and keys <= data.keys()
            and isinstance(data["meta"], dict)
            and "duration_s" in data["meta"]
        )
    except (OSError, ValueError) as exc:
        raise typer.BadParameter(f"{truth}: {exc}") from None
    if not ok:
        raise typer.BadParameter(f"{truth} is not a bench haystack's truth.json")


def _print_ingest(result: dict) -> None:
    report = result["report"]
    wall = result["wall_s"]
    table = Table("stage", "seconds", "share", show_edge=False)
    parts = {"model load": report["model_load_s"], "decode": report["decode_s"]}
    parts.update({n: s["seconds"] for n, s in report["stages"].items()})
    for name, secs in parts.items():
        table.add_row(name, f"{secs:.1f}", f"{100 * secs / wall:.0f}%")
    out.print(table)
    out.print(
        f"{Path(result['video']).name}: {result['duration_s']:.0f} s of video in {wall:.1f} s "
        f"= {result['realtime']}x realtime; peak RSS {result['peak_rss_mb']:.0f} MB",
        highlight=False,
    )
    for key in ("floor", "quality"):
        if key in result:
            out.print(f"{key}: {json.dumps(result[key])}", highlight=False)


def _bench_workers(settings: Settings, video: Path, stages: list[str], workers: int) -> None:
    from api.cli.bench_workers import run_on_workers

    if not settings.broker_url:
        raise typer.BadParameter("--workers needs VIDKG_BROKER_URL (a broker database of its own)")
    try:
        db = open_database(settings)
        result = run_on_workers(db, settings, video, stages, workers)
        with db.sessions() as session:
            duration = session.execute(text("SELECT duration_s FROM videos")).scalar_one()
        db.dispose()
    finally:
        EmbeddedPostgres(settings.pgdata_dir).stop()
        shutil.rmtree(settings.home, ignore_errors=True)
    result["video"] = str(video)
    result["duration_s"] = duration
    result["realtime"] = round(duration / result["wall_s"], 2)
    print(json.dumps(result, indent=2))


@app.command("recovery")
def bench_recovery(
    ctx: typer.Context,
    video: Annotated[Path, typer.Argument(help="Video to ingest in every trial.")],
    trials: Annotated[int, typer.Option(min=1, max=1000, help="Kills, one per ingest.")] = 20,
    workers: Annotated[int, typer.Option(min=2, max=64, help="Worker processes.")] = 3,
    seed: Annotated[int, typer.Option(help="Seed of the random moments and victims.")] = 1,
    within_s: Annotated[
        float, typer.Option(min=3.0, help="Kill within this many seconds of submitting.")
    ] = 60.0,
) -> None:
    """Kill a random worker at a random moment during each ingest of VIDEO; print per
    trial the time to recover and whether the rows equal an in-process ingest's."""
    from api.cli.bench_recovery import Soak, reference_rows, summary

    cli = state(ctx)
    if not cli.settings.broker_url:
        raise typer.BadParameter("needs VIDKG_BROKER_URL (a broker database of its own)")
    if not video.is_file():
        raise typer.BadParameter(f"{video} is not a file")
    chosen = parse_stages(None, cli.settings.indexer.stages)
    scratch = Path(tempfile.mkdtemp(prefix="vidkg-bench-recovery-"))
    settings = cli.settings.model_copy(update={"home": scratch, "database_url": None})
    soak = None
    try:
        db = open_database(settings)
        try:
            expected = reference_rows(db, settings, video, chosen)
        except ProbeError as exc:
            raise typer.BadParameter(str(exc)) from None
        soak = Soak(db, settings, workers, seed)
        done = []
        for n in range(1, trials + 1):
            done.append(soak.trial(n, video, chosen, expected, within_s))
            err.print(json.dumps(asdict(done[-1])), highlight=False)
        result = summary(done)
    finally:
        if soak is not None:
            soak.close()
        EmbeddedPostgres(settings.pgdata_dir).stop()
        shutil.rmtree(scratch, ignore_errors=True)
    print(json.dumps({"video": str(video), "workers": workers, **result}, indent=2))


@app.command("graph")
def bench_graph(
    ctx: typer.Context,
    video_id: Annotated[int, typer.Argument(help="An ingested video whose evidence to copy.")],
    copies: Annotated[int, typer.Option(min=1, max=1000, help="Copies of its evidence.")] = 10,
) -> None:
    """Copy a video's stored evidence COPIES times into a throw-away database, build every
    copy's graph, load each and the whole library into networkx; print JSON (seconds,
    peak RSS, sizes)."""
    from graph.bench import replicate, run_graph_bench
    from indexer.graph_step import text_embedder

    cli = state(ctx)
    scratch = Path(tempfile.mkdtemp(prefix="vidkg-bench-graph-"))
    settings = cli.settings.model_copy(update={"home": scratch, "database_url": None})
    embed, model = text_embedder(cli.registry, settings)
    try:
        db = open_database(settings)
        t0 = time.perf_counter()
        try:
            ids = replicate(cli.db.sessions, db.sessions, video_id, copies)
        except LookupError as exc:
            raise typer.BadParameter(str(exc)) from exc
        copy_s = time.perf_counter() - t0
        result = run_graph_bench(db.sessions, ids, settings.graph, embed, model).as_dict()
        db.dispose()
    finally:
        EmbeddedPostgres(settings.pgdata_dir).stop()
        shutil.rmtree(scratch, ignore_errors=True)
    print(json.dumps({"video_id": video_id, "copy_s": round(copy_s, 2), **result}, indent=2))


@app.command("search")
def bench_search(
    ctx: typer.Context,
    video_id: Annotated[int, typer.Argument(help="An ingested video whose evidence to copy.")],
    truth: Annotated[Path, typer.Option(help="A haystack truth.json: its questions are asked.")],
    copies: Annotated[int, typer.Option(min=0, max=1000, help="Extra copies of it.")] = 9,
) -> None:
    """Copy a video's evidence (embeddings too) COPIES times into a throw-away database
    beside the original, build every graph, then time search and extractive ask of the
    truth file's questions (and the unanswerable ones) over the whole library; print
    JSON (cold, p50, p95, max in ms)."""
    from api.services import retrieval_service
    from retrieval.bench import run_search_bench
    from retrieval.types import Scope

    cli = state(ctx)
    questions = _questions(truth)
    with _library(cli, video_id, copies) as (settings, db, ids, setup_s):
        service = retrieval_service(settings, db, cli.registry)
        result = run_search_bench(service, questions, Scope())
    report = {"video_id": video_id, "videos": len(ids), "setup_s": round(setup_s, 1)}
    print(json.dumps({**report, "questions": len(questions), **result}, indent=2))


@app.command("http")
def bench_http(
    ctx: typer.Context,
    truth: Annotated[Path, typer.Option(help="A haystack truth.json: its questions are asked.")],
    video_id: Annotated[
        int | None,
        typer.Option(
            help="Copy this ingested video's evidence into a scratch "
            "library and serve it (without --url)."
        ),
    ] = None,
    copies: Annotated[int, typer.Option(min=0, max=1000, help="Extra copies of it.")] = 9,
    url: Annotated[str | None, typer.Option(help="Bench this running server instead.")] = None,
    key: Annotated[str | None, typer.Option(help="API key for --url.")] = None,
    clients: Annotated[int, typer.Option(min=1, max=256, help="Concurrent clients.")] = 8,
    rounds: Annotated[int, typer.Option(min=1, max=100, help="Passes over the questions.")] = 1,
) -> None:
    """Search and ask latency over HTTP with CLIENTS concurrent clients in this process
    and the server in another: p50 / p95 / max / errors per operation, as JSON. Without
    --url, a scratch library of COPIES+1 copies of VIDEO_ID is served by `vidkg serve`."""
    from api.http_bench import load, summary

    questions = _questions(truth)
    if url is None and video_id is None:
        raise typer.BadParameter("give --video-id (a scratch library) or --url (a server)")
    with contextlib.ExitStack() as stack:
        videos = None
        if url is None:
            cli = state(ctx)
            settings, db, ids, _ = stack.enter_context(_library(cli, video_id, copies))
            key = _bench_key(db)
            db.dispose()
            url = stack.enter_context(_server(settings))
            videos = len(ids)
        load(url, key, questions[:1], 1, 1)  # warm: first query loads caches
        t0 = time.perf_counter()
        calls = load(url, key, questions, clients, rounds)
        wall = time.perf_counter() - t0
    result = {"videos": videos, "clients": clients, "questions": len(questions)}
    print(json.dumps({**result, "wall_s": round(wall, 1), **summary(calls, wall)}, indent=2))


def _questions(truth: Path) -> list[str]:
    from api.cli.eval_command import NEGATIVES
    from retrieval.evaluate import BadQuestions, load_negatives, load_questions

    try:
        return [q.question for q in load_questions(truth) + load_negatives(NEGATIVES)]
    except BadQuestions as exc:
        raise typer.BadParameter(str(exc)) from exc


@contextlib.contextmanager
def _library(cli: CliState, video_id: int, copies: int) -> Iterator[tuple]:
    """A throw-away database holding COPIES+1 copies of a video's evidence and graphs."""
    from graph.bench import replicate
    from graph.build import build_video_graph
    from indexer.graph_step import text_embedder

    scratch = Path(tempfile.mkdtemp(prefix="vidkg-bench-library-"))
    settings = cli.settings.model_copy(update={"home": scratch, "database_url": None})
    try:
        db = open_database(settings)
        embed, model = text_embedder(cli.registry, settings)
        t0 = time.perf_counter()
        try:
            ids = replicate(cli.db.sessions, db.sessions, video_id, copies + 1, vectors=True)
        except LookupError as exc:
            raise typer.BadParameter(str(exc)) from exc
        for vid in ids:
            build_video_graph(db.sessions, vid, settings.graph, embed, model)
        yield settings, db, ids, time.perf_counter() - t0
        db.dispose()
    finally:
        EmbeddedPostgres(settings.pgdata_dir).stop()
        shutil.rmtree(scratch, ignore_errors=True)


def _bench_key(db: Database) -> str:
    from api.keys import KeyStore, Scope

    return KeyStore(db.sessions).create(frozenset({Scope.READ}), "bench").secret


@contextlib.contextmanager
def _server(settings: Settings) -> Iterator[str]:
    """``vidkg serve`` on a free port over ``settings``' database, rate limit off."""
    import os
    import socket
    import subprocess
    import sys

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(
        os.environ,
        VIDKG_HOME=str(settings.home),
        VIDKG_EMBEDDED_DATABASE=settings.embedded_database,
        VIDKG_API__RATE_LIMIT_PER_MINUTE="0",
        VIDKG_BROKER_URL="",
    )
    env.pop("VIDKG_DATABASE_URL", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(60)
