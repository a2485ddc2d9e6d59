"""Ask every question of a haystack ``truth.json`` and write predictions for ``score.py``.

The prediction format is the bench's: one JSON line per question with ``id``,
``answer``, ``citations`` and ``ranked`` (``start_s``/``end_s``), plus ``type`` and
``latency_ms`` so latency can be reported per question type. Questions written to have
no answer in the video (``negatives``) are asked the same way; a good system says it
does not know or cites nothing.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from retrieval.types import Answer, Scope

Asker = Callable[[str, Scope], Answer]


@dataclass(frozen=True)
class TruthQuestion:
    id: str
    type: str
    question: str


@dataclass(frozen=True)
class Prediction:
    id: str
    type: str
    answer: str
    citations: tuple[tuple[float, float], ...]
    ranked: tuple[tuple[float, float], ...]
    latency_ms: float

    def json(self) -> dict:
        return {
            "id": self.id,
            "type": self.type,
            "answer": self.answer,
            "citations": [{"start_s": a, "end_s": b} for a, b in self.citations],
            "ranked": [{"start_s": a, "end_s": b} for a, b in self.ranked],
            "latency_ms": self.latency_ms,
        }


class BadQuestions(ValueError):
    """A truth or questions file that cannot be read; the message says which and why."""


def _questions(path: Path) -> list:
    try:
        found = json.loads(path.read_text())["questions"]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise BadQuestions(f"{path}: not a questions file ({type(exc).__name__}: {exc})") from exc
    if not isinstance(found, list):
        raise BadQuestions(f"{path}: 'questions' is not a list")
    return found


def load_questions(truth: Path) -> list[TruthQuestion]:
    try:
        return [TruthQuestion(q["id"], q["type"], q["question"]) for q in _questions(truth)]
    except (KeyError, TypeError) as exc:
        raise BadQuestions(f"{truth}: a question lacks id, type or question ({exc})") from exc


def load_negatives(path: Path) -> list[TruthQuestion]:
    return [
        TruthQuestion(f"negative-{n:02d}", "negative", str(q))
        for n, q in enumerate(_questions(path), start=1)
    ]


def predict(ask: Asker, questions: Iterable[TruthQuestion], scope: Scope) -> list[Prediction]:
    out = []
    for q in questions:
        t0 = time.perf_counter()
        a = ask(q.question, scope)
        ms = round((time.perf_counter() - t0) * 1000, 1)
        out.append(
            Prediction(
                q.id,
                q.type,
                a.text or "I don't know",
                tuple((c.start_s, c.end_s) for c in a.citations),
                tuple((h.start_s, h.end_s) for h in a.ranked),
                ms,
            )
        )
    return out


def write_predictions(path: Path, predictions: Sequence[Prediction]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as f:
        for p in predictions:
            f.write(json.dumps(p.json()) + "\n")


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def latency_by_type(predictions: Sequence[Prediction]) -> dict[str, dict[str, float]]:
    types = sorted({p.type for p in predictions})
    rows = {}
    for t in [*types, "all"]:
        ms = [p.latency_ms for p in predictions if t in ("all", p.type)]
        rows[t] = {"n": len(ms), "p50_ms": percentile(ms, 50), "p95_ms": percentile(ms, 95)}
    return rows


def abstained(predictions: Sequence[Prediction]) -> float:
    """Share of predictions that say they do not know or cite nothing."""
    if not predictions:
        return 0.0
    return sum(not p.citations for p in predictions) / len(predictions)
