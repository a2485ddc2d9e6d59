"""``vidkg eval``: ask every question of a haystack's truth file, write predictions.

The video beside the truth file (``DIR/video.mp4``) is ingested first unless it already
is; predictions go out in the bench's format for ``score.py``, with a latency table per
question type, and the same run can answer as a baseline instead of vidkg.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.table import Table

import retrieval
from api.cli.ingest_commands import ingest
from api.cli.state import CliState, console, state
from api.services import retrieval_service
from indexer.catalog import register_video
from retrieval.evaluate import (
    Asker,
    BadQuestions,
    Prediction,
    abstained,
    latency_by_type,
    load_negatives,
    load_questions,
    predict,
    write_predictions,
)
from retrieval.service import RetrievalService
from retrieval.types import Scope

out = console()
err = console(stderr=True)
NEGATIVES = Path(retrieval.__file__).parent / "data" / "unanswerable.json"


class Baseline(StrEnum):
    TRANSCRIPT = "transcript"
    UNIFORM = "uniform"


def eval_(
    ctx: typer.Context,
    truth: Annotated[Path, typer.Option(help="A haystack's truth.json (video.mp4 beside it).")],
    out_path: Annotated[Path, typer.Option("--out", help="Predictions (JSON lines).")],
    baseline: Annotated[
        Baseline | None, typer.Option(help="Answer as this baseline instead of vidkg.")
    ] = None,
    negatives: Annotated[
        Path, typer.Option(help="Questions with no answer in the video, asked as well.")
    ] = NEGATIVES,
) -> None:
    """Answer a haystack's questions (and unanswerable ones) and write predictions for
    the bench's score.py, with latency p50/p95 per question type."""
    cli = state(ctx)
    video = truth.parent / "video.mp4"
    if not truth.is_file() or not video.is_file():
        err.print(f"need {truth} and {video}", highlight=False)
        raise typer.Exit(1)
    try:
        questions = load_questions(truth) + (load_negatives(negatives) if negatives else [])
    except BadQuestions as exc:
        err.print(str(exc), highlight=False)
        raise typer.Exit(1) from None
    ingest(ctx, [video], None, False, False, False)
    video_id = register_video(cli.db.sessions, cli.settings, video).video_id
    service = retrieval_service(cli.settings, cli.db, cli.registry)
    ask = _asker(cli, service, baseline, video)
    predictions = predict(ask, questions, Scope((video_id,)))
    write_predictions(out_path, [p for p in predictions if p.type != "negative"])
    write_predictions(
        out_path.with_suffix(".negatives.jsonl"), [p for p in predictions if p.type == "negative"]
    )
    _report(predictions, baseline)


def _asker(
    cli: CliState, service: RetrievalService, baseline: Baseline | None, video: Path
) -> Asker:
    if baseline is None:
        return service.ask
    if baseline is Baseline.TRANSCRIPT:
        from retrieval.baselines import transcript_answer

        return lambda q, scope: transcript_answer(service.ctx, q, scope)
    from api.frame_notes import read_frames
    from retrieval.baselines import UniformBaseline

    uniform = UniformBaseline(
        service.ctx, lambda _v, times: read_frames(video, times, cli.registry)
    )
    return uniform.answer


def _report(predictions: list[Prediction], baseline: Baseline | None) -> None:
    table = Table("type", "n", "p50 ms", "p95 ms", box=box.SIMPLE_HEAD)
    for kind, row in latency_by_type(predictions).items():
        table.add_row(kind, str(row["n"]), f"{row['p50_ms']:.1f}", f"{row['p95_ms']:.1f}")
    out.print(table)
    negs = [p for p in predictions if p.type == "negative"]
    if negs:
        out.print(
            f"unanswerable: {abstained(negs):.0%} of {len(negs)} abstained "
            f"({baseline.value if baseline else 'vidkg'})",
            highlight=False,
        )
