"""Read one video's stored evidence into typed records (the graph build's only input).

The graph is built from what the indexer stored, never from the media file, so
``vidkg graph rebuild`` re-derives it without re-extracting anything.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from graph.types import (
    CaptionRow,
    DetectionRow,
    SpanRow,
    SpeechRow,
    TextRow,
    TrackRow,
    VideoEvidence,
    Word,
)

_SPANS = text(
    "SELECT id, start_s, end_s, cut_before FROM scenes WHERE video_id = :v ORDER BY start_s"
)
_SPEECH = text(
    "SELECT id, start_s, end_s, text, words FROM speech_segments WHERE video_id = :v "
    "ORDER BY start_s, id"
)
_TEXTS = text(
    "SELECT id, start_s, end_s, text, coalesce(confidence, 0) FROM onscreen_text "
    "WHERE video_id = :v ORDER BY start_s, id"
)
_TRACKS = text(
    "SELECT id, start_s, end_s, label, detection_count, coalesce(max_confidence, 0), "
    "appearance FROM tracks WHERE video_id = :v ORDER BY start_s, id"
)
_UNTRACKED = text(
    "SELECT id, t_s, label FROM detections WHERE video_id = :v AND track_id IS NULL "
    "ORDER BY t_s, id"
)
_CAPTIONS = text(
    "SELECT id, start_s, end_s, text, captioner FROM captions WHERE video_id = :v "
    "ORDER BY start_s, id"
)


def parse_words(raw: list[dict] | None) -> tuple[Word, ...]:
    """Word records from ``speech_segments.words`` (JSON), skipping untimed ones."""
    return tuple(
        Word(str(w.get("text", "")).strip(), float(w["start_s"]), float(w["end_s"]))
        for w in raw or []
        if "start_s" in w and "end_s" in w
    )


def load_evidence(session: Session, video_id: int) -> VideoEvidence:
    """Every scene span, speech segment, text track, object track, untracked detection
    and caption of a video."""
    p = {"v": video_id}
    return VideoEvidence(
        video_id=video_id,
        spans=tuple(SpanRow(*r) for r in session.execute(_SPANS, p)),
        speech=tuple(
            SpeechRow(i, a, b, t, parse_words(w)) for i, a, b, t, w in session.execute(_SPEECH, p)
        ),
        texts=tuple(TextRow(*r) for r in session.execute(_TEXTS, p)),
        tracks=tuple(
            TrackRow(i, a, b, label, n, conf, tuple(app) if app else None)
            for i, a, b, label, n, conf, app in session.execute(_TRACKS, p)
        ),
        captions=tuple(CaptionRow(*r) for r in session.execute(_CAPTIONS, p)),
        untracked=tuple(DetectionRow(*r) for r in session.execute(_UNTRACKED, p)),
    )
