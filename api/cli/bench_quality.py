"""What an ingest extracted, scored against a bench haystack's ``truth.json``.

``vidkg bench ingest VIDEO --truth truth.json`` prints these beside the speed numbers, so
a speed-up that loses a needle shows in the same report: needle WER (the synthetic
sentences), on-screen texts read within 1 s of their times, cut F1 (0.5 s, cuts inside
a film's own editing not held against us), pedestrian windows with a person track, and
detections a minute.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import text

from api.cli.bench_scoring import normalise, overlaps, word_error_rate
from vidkg.db import Database

TEXT_SLACK_S = 1.0  # a text counts as read when a track holds it within this of its times
TEXT_WORDS = 0.8  # ... and holds this share of its words (OCR drops a letter here or there)
CUT_SLACK_S = 0.5

_ROWS = {
    "cuts": "SELECT start_s FROM scenes WHERE video_id = :v AND cut_before ORDER BY start_s",
    "words": "SELECT (w->>'start_s')::float AS start_s, w->>'text' AS text "
    "FROM speech_segments, jsonb_array_elements(words) w WHERE video_id = :v ORDER BY 1",
    "texts": "SELECT text, start_s, end_s FROM onscreen_text WHERE video_id = :v",
    "people": "SELECT start_s, end_s FROM tracks WHERE video_id = :v AND label = 'person'",
    "detections": "SELECT count(*) AS n FROM detections WHERE video_id = :v",
}


def extraction_quality(db: Database, video_id: int, truth: Mapping[str, Any]) -> dict[str, Any]:
    with db.engine.connect() as conn:
        rows = {
            k: [dict(r) for r in conn.execute(text(q), {"v": video_id}).mappings()]
            for k, q in _ROWS.items()
        }
    minutes = truth["meta"]["duration_s"] / 60
    return {
        "needle_wer": round(needle_wer(truth["speech"], rows["words"]), 3),
        "texts_read": texts_read(truth["onscreen_text"], rows["texts"]),
        "cuts": cut_scores(truth, [r["start_s"] for r in rows["cuts"]]),
        "person_windows": person_windows(truth, rows["people"]),
        "detections_per_min": round(rows["detections"][0]["n"] / minutes, 1),
    }


def needle_wer(speech: Sequence[Mapping], words: Sequence[Mapping]) -> float:
    """Word error rate over the synthetic needle sentences, weighted by their length."""
    errors = total = 0.0
    for spoken in speech:
        if spoken["kind"] != "tts" or not spoken.get("needle"):
            continue
        heard = " ".join(
            w["text"] for w in words if spoken["start_s"] - 0.5 <= w["start_s"] <= spoken["end_s"]
        )
        n = len(normalise(spoken["text"]).split())
        errors += word_error_rate(spoken["text"], heard) * n
        total += n
    return errors / total if total else 0.0


def texts_read(shown: Sequence[Mapping], tracks: Sequence[Mapping]) -> dict[str, Any]:
    """Texts of the truth whose words the tracks near their times hold, by style."""
    out: dict[str, Any] = {"read": 0, "total": 0, "missed": []}
    for item in shown:
        wanted = normalise(" ".join(item.get("labels") or [item["text"]])).split()
        near = [t for t in tracks if overlaps(item, t, TEXT_SLACK_S)]
        have = set(normalise(" ".join(t["text"] for t in near)).split())
        starts = [t["start_s"] for t in near if set(normalise(t["text"]).split()) & set(wanted)]
        ok = (
            bool(wanted)
            and sum(w in have for w in wanted) >= TEXT_WORDS * len(wanted)
            and abs(min(starts, default=1e9) - item["start_s"]) <= TEXT_SLACK_S
        )
        out["total"] += 1
        out["read"] += ok
        if not ok:
            out["missed"].append(f"{item['start_s']:.1f}s {item['text']}")
    return out


def cut_scores(truth: Mapping[str, Any], predicted: Sequence[float]) -> dict[str, float]:
    """Precision, recall and F1 of cuts matched one to one within ``CUT_SLACK_S``."""
    free = sorted(predicted)
    matched = 0
    for cut in sorted(truth["cuts"]):
        near = [p for p in free if abs(p - cut) <= CUT_SLACK_S]
        if near:
            free.remove(min(near, key=lambda p: abs(p - cut)))
            matched += 1
    film = [tuple(w) for w in truth.get("ignore_cuts", [])]
    false = [p for p in free if not any(a <= p <= b for a, b in film)]
    precision = matched / (matched + len(false)) if matched + len(false) else 0.0
    recall = matched / len(truth["cuts"]) if truth["cuts"] else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 3), "recall": round(recall, 3), "f1": round(f1, 3)}


def person_windows(truth: Mapping[str, Any], people: Sequence[Mapping]) -> dict[str, int]:
    """The pedestrian-footage windows (the ``person`` question's evidence) with a track."""
    windows = [
        {"start_s": a, "end_s": b}
        for q in truth["questions"]
        if q["type"] == "person"
        for a, b in q["evidence"]
    ]
    found = sum(any(overlaps(w, p, 0.0) for p in people) for w in windows)
    return {"found": found, "total": len(windows)}
