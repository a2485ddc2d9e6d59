"""Reading a video's evidence back: what derived stages work from, and summary counts."""

from __future__ import annotations

from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from indexer.stages.evidence import ChunkEvidence, SceneRow, TextRow, TrackRow
from vidkg.schema import Caption, Frame, OnscreenText, Scene, SpeechSegment, Track


def chunk_evidence(
    sessions: sessionmaker[Session], video_id: int, a: float, b: float
) -> ChunkEvidence:
    """The chunk's rows that captions and text embeddings are made from."""
    ev = ChunkEvidence(a, b)
    v = video_id
    with sessions() as s:
        frames = dict(
            s.execute(
                select(Frame.t_s, Frame.image_path).where(
                    Frame.video_id == v, Frame.t_s >= a, Frame.t_s < b
                )
            ).all()
        )
        for sc in s.scalars(
            select(Scene)
            .where(Scene.video_id == v, Scene.start_s >= a, Scene.start_s < b)
            .order_by(Scene.start_s)
        ):
            paths = tuple(frames[t] for t in sc.keyframe_times if frames.get(t))
            ev.scenes.append(SceneRow(sc.start_s, sc.end_s, paths))
        for model, target in (
            (SpeechSegment, ev.speech),
            (OnscreenText, ev.texts),
            (Caption, ev.captions),
        ):
            rows = s.execute(
                select(model.id, model.start_s, model.end_s, model.text)
                .where(model.video_id == v, model.start_s >= a, model.start_s < b)
                .order_by(model.start_s)
            )
            target.extend(TextRow(*row) for row in rows)
        rows = s.execute(
            select(Track.label, Track.start_s, Track.end_s)
            .where(Track.video_id == v, Track.start_s >= a, Track.start_s < b)
            .order_by(Track.start_s)
        )
        ev.tracks.extend(TrackRow(*row) for row in rows)
    return ev


_COUNTS = text("""
    SELECT
      (SELECT count(*) FROM scenes WHERE video_id = :v) AS scenes,
      (SELECT count(*) FROM scenes WHERE video_id = :v AND cut_before) AS cuts,
      (SELECT count(*) FROM speech_segments WHERE video_id = :v) AS speech_segments,
      (SELECT coalesce(sum(jsonb_array_length(words)), 0)
         FROM speech_segments WHERE video_id = :v) AS words,
      (SELECT count(*) FROM onscreen_text WHERE video_id = :v) AS text_tracks,
      (SELECT count(*) FROM tracks WHERE video_id = :v) AS tracks,
      (SELECT count(*) FROM detections WHERE video_id = :v) AS detections,
      (SELECT count(*) FROM frames WHERE video_id = :v AND embedding IS NOT NULL)
         AS frame_embeddings,
      (SELECT count(*) FROM captions WHERE video_id = :v) AS captions""")


def evidence_counts(sessions: sessionmaker[Session], video_id: int) -> dict[str, int]:
    """How much of each kind of evidence a video has (the ingest summary)."""
    with sessions() as s:
        return dict(s.execute(_COUNTS, {"v": video_id}).mappings().one())
