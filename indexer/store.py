"""The one write path of the indexer: a stage's records for a chunk, in one transaction.

Writing a stage for chunk [a, b) deletes that stage's rows of the video starting in
[a, b), inserts the new ones and marks the checkpoint done, all in one transaction. So a
crash leaves either the old rows or the new ones (never half), and a re-run or a
redelivered task replaces rather than duplicates. Stages that read other stages' rows
(captions, embeddings) lose their checkpoint when those rows are rewritten, so resuming
recomputes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session, sessionmaker

from indexer.stages.base import (
    Box,
    CaptionRecord,
    DetectionRecord,
    FrameEmbeddingRecord,
    KeyframeRecord,
    SceneRecord,
    SpeechRecord,
    TextTrackRecord,
    TrackRecord,
)
from vidkg.schema import (
    Caption,
    Detection,
    Frame,
    IngestCheckpoint,
    OnscreenText,
    Scene,
    SpeechSegment,
    Track,
)

# Rewriting a stage's rows makes these stages' results stale for the same chunk.
DEPENDENTS: dict[str, tuple[str, ...]] = {
    "scenes": ("clip", "caption"),
    "asr": ("caption", "embed"),
    "ocr": ("caption", "embed"),
    "detect": ("caption",),
    "caption": ("embed",),
}
TRACK_KEY_STRIDE = 1_000_000  # track keys are chunk_index * stride + the chunk's own key


class EvidenceStore:
    """Reads checkpoints and writes stage results for one video."""

    def __init__(self, sessions: sessionmaker[Session], video_id: int, media_dir: Path) -> None:
        self.sessions = sessions
        self.video_id = video_id
        self.media_dir = media_dir
        self._chunk_index = 0  # of the write in progress (track keys include it)

    # ---- checkpoints ---------------------------------------------------------------

    def finished(self) -> dict[tuple[str, int], str]:
        """(stage, chunk_index) -> status, for checkpoints that need no more work."""
        with self.sessions() as session:
            rows = session.execute(
                select(
                    IngestCheckpoint.stage, IngestCheckpoint.chunk_index, IngestCheckpoint.status
                )
                .where(IngestCheckpoint.video_id == self.video_id)
                .where(IngestCheckpoint.status.in_(("done", "skipped")))
            )
            return {(stage, idx): status for stage, idx, status in rows}

    def mark(
        self,
        stage: str,
        chunk: tuple[int, float, float],
        status: str,
        *,
        job_id: int | None = None,
        error: str | None = None,
        rows: int | None = None,
        elapsed_s: float | None = None,
        session: Session | None = None,
    ) -> None:
        """Upsert a checkpoint (in ``session``'s transaction when given); ``attempts``
        counts starts (see ``jobs.JobStore.start``), not writes."""
        index, start_s, end_s = chunk
        values = dict(
            video_id=self.video_id,
            job_id=job_id,
            stage=stage,
            chunk_index=index,
            start_s=start_s,
            end_s=end_s,
            status=status,
            error=error,
            rows_written=rows,
            elapsed_s=elapsed_s,
        )
        stmt = pg_insert(IngestCheckpoint).values(**values, attempts=1, finished_at=_now())
        stmt = stmt.on_conflict_do_update(
            index_elements=["video_id", "stage", "chunk_index"],
            set_={
                **{k: stmt.excluded[k] for k in values if k not in ("video_id", "stage")},
                "finished_at": stmt.excluded.finished_at,
            },
        )
        if session is not None:
            session.execute(stmt)
            return
        with self.sessions.begin() as own:
            own.execute(stmt)

    # ---- stage results -------------------------------------------------------------

    def write(
        self,
        stage: str,
        chunk: tuple[int, float, float],
        records: Sequence[Any],
        *,
        job_id: int | None = None,
        elapsed_s: float | None = None,
    ) -> int:
        """Replace ``stage``'s rows in the chunk with ``records``; returns rows written."""
        self._chunk_index, start_s, end_s = chunk
        writer = getattr(self, f"_write_{stage}")
        with self.sessions.begin() as session:
            # Two runs of one unit (a redelivered task beside the original) write one
            # after the other: the second's DELETE then sees, and replaces, the first's rows.
            session.execute(_UNIT_LOCK, {"key": f"{self.video_id}:{stage}:{chunk[0]}"})
            rows = writer(session, start_s, end_s, records)
            self.mark(
                stage,
                chunk,
                "done",
                job_id=job_id,
                rows=rows,
                elapsed_s=elapsed_s,
                session=session,
            )
            for dependent in DEPENDENTS.get(stage, ()):
                session.execute(
                    delete(IngestCheckpoint).where(
                        IngestCheckpoint.video_id == self.video_id,
                        IngestCheckpoint.stage == dependent,
                        IngestCheckpoint.chunk_index == chunk[0],
                        IngestCheckpoint.status == "done",
                    )
                )
        return rows

    def _replace(self, session: Session, model: Any, column: Any, a: float, b: float) -> None:
        session.execute(
            delete(model).where(model.video_id == self.video_id, column >= a, column < b)
        )

    def _insert(self, session: Session, model: Any, rows: list[dict[str, Any]]) -> int:
        if rows:
            session.execute(insert(model), [{"video_id": self.video_id, **r} for r in rows])
        return len(rows)

    def _write_scenes(self, session: Session, a: float, b: float, records: Sequence[Any]) -> int:
        self._replace(session, Scene, Scene.start_s, a, b)
        self._replace(session, Frame, Frame.t_s, a, b)
        scenes = [r for r in records if isinstance(r, SceneRecord)]
        keyframes = [r for r in records if isinstance(r, KeyframeRecord)]
        # Scene numbers are provisional per chunk; the graph step renumbers them in order.
        n = self._insert(
            session,
            Scene,
            [
                dict(
                    scene_index=r.scene_index,
                    shot_index=r.shot_index,
                    cut_before=r.cut_before,
                    start_s=r.start_s,
                    end_s=r.end_s,
                    keyframe_times=list(r.keyframe_times),
                )
                for r in scenes
            ],
        )
        frames = []
        for kf in keyframes:
            frames.append(dict(t_s=kf.t_s, image_path=str(self._save_keyframe(kf))))
        return n + self._insert(session, Frame, frames)

    def _save_keyframe(self, kf: KeyframeRecord) -> Path:
        folder = self.media_dir / "keyframes"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{round(kf.t_s * 1000):010d}.jpg"
        Image.fromarray(kf.image).save(path, quality=85)  # same name on re-run: replaced
        return path

    def _write_asr(self, session: Session, a: float, b: float, records: Sequence[Any]) -> int:
        self._replace(session, SpeechSegment, SpeechSegment.start_s, a, b)
        rows = []
        for r in records:
            assert isinstance(r, SpeechRecord)
            words = [asdict(w) for w in r.words]
            rows.append(
                dict(
                    start_s=r.start_s,
                    end_s=r.end_s,
                    text=r.text,
                    words=words,
                    language=r.language,
                    confidence=r.confidence,
                )
            )
        return self._insert(session, SpeechSegment, rows)

    def _write_ocr(self, session: Session, a: float, b: float, records: Sequence[Any]) -> int:
        self._replace(session, OnscreenText, OnscreenText.start_s, a, b)
        rows = []
        for r in records:
            assert isinstance(r, TextTrackRecord)
            rows.append(
                dict(
                    start_s=r.start_s,
                    end_s=r.end_s,
                    text=r.text,
                    confidence=r.confidence,
                    frame_count=r.frame_count,
                    **_box_columns(r.box),
                )
            )
        return self._insert(session, OnscreenText, rows)

    def _write_detect(self, session: Session, a: float, b: float, records: Sequence[Any]) -> int:
        self._replace(session, Track, Track.start_s, a, b)  # detections follow (cascade)
        self._replace(session, Detection, Detection.t_s, a, b)
        chunk_index = self._chunk_index
        untracked = [r for r in records if isinstance(r, DetectionRecord)]
        tracks = [r for r in records if isinstance(r, TrackRecord)]
        rows = [_detection_row(d, None) for d in untracked]
        if tracks:  # one INSERT for the tracks, ids back in order, one for the detections
            ids = (
                session.execute(
                    insert(Track).returning(Track.id, sort_by_parameter_order=True),
                    [
                        dict(
                            video_id=self.video_id,
                            track_key=chunk_index * TRACK_KEY_STRIDE + r.track_key,
                            label=r.label,
                            start_s=r.start_s,
                            end_s=r.end_s,
                            detection_count=len(r.detections),
                            max_confidence=r.max_confidence,
                            model=r.model,
                            appearance=r.appearance,
                        )
                        for r in tracks
                    ],
                )
                .scalars()
                .all()
            )
            for track_id, r in zip(ids, tracks, strict=True):
                rows.extend(_detection_row(d, track_id) for d in r.detections)
        return len(tracks) + self._insert(session, Detection, rows)

    def _write_clip(self, session: Session, a: float, b: float, records: Sequence[Any]) -> int:
        session.execute(
            update(Frame)
            .where(Frame.video_id == self.video_id, Frame.t_s >= a, Frame.t_s < b)
            .values(embedding=None, embedding_model=None)
        )
        if not records:
            return 0
        stmt = pg_insert(Frame)
        stmt = stmt.on_conflict_do_update(
            index_elements=["video_id", "t_s"],
            set_={
                "embedding": stmt.excluded.embedding,
                "embedding_model": stmt.excluded.embedding_model,
            },
        )
        rows = [
            dict(
                video_id=self.video_id,
                t_s=r.t_s,
                embedding=np.asarray(r.embedding, dtype=np.float32).tolist(),
                embedding_model=r.model,
            )
            for r in records
            if isinstance(r, FrameEmbeddingRecord)
        ]
        session.execute(stmt, rows)  # one upsert, executed for all keyframes
        return len(rows)

    def _write_caption(self, session: Session, a: float, b: float, records: Sequence[Any]) -> int:
        self._replace(session, Caption, Caption.start_s, a, b)
        return self._insert(
            session,
            Caption,
            [
                dict(start_s=r.start_s, end_s=r.end_s, text=r.text, captioner=r.captioner)
                for r in records
                if isinstance(r, CaptionRecord)
            ],
        )

    def _write_embed(self, session: Session, a: float, b: float, records: Sequence[Any]) -> int:
        """``records``: (model class, row id, vector, model name); one bulk UPDATE by
        primary key per table."""
        by_table: dict[Any, list[dict[str, Any]]] = {}
        for model, row_id, vector, name in records:
            by_table.setdefault(model, []).append(
                {
                    "id": row_id,
                    "embedding": np.asarray(vector, np.float32).tolist(),
                    "embedding_model": name,
                }
            )
        for model, rows in by_table.items():
            session.execute(update(model), rows)
        return len(records)

    def renumber_scenes(self) -> None:
        """Scene and shot numbers over the whole video, in time order (chunks number
        their own scenes, possibly in parallel)."""
        with self.sessions.begin() as s:
            s.execute(_RENUMBER, {"video_id": self.video_id})
            s.execute(
                update(Scene)
                .where(Scene.video_id == self.video_id)
                .values(scene_index=-1 - Scene.scene_index)
            )


_UNIT_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")
_RENUMBER = text("""
    WITH ordered AS (
        SELECT id,
               row_number() OVER w - 1 AS scene_no,
               sum(CASE WHEN cut_before THEN 1 ELSE 0 END) OVER w AS shot_no
        FROM scenes WHERE video_id = :video_id
        WINDOW w AS (ORDER BY start_s ROWS UNBOUNDED PRECEDING)
    )
    UPDATE scenes s SET scene_index = -1 - o.scene_no, shot_index = o.shot_no
    FROM ordered o WHERE s.id = o.id""")


def _detection_row(d: DetectionRecord, track_id: int | None) -> dict[str, Any]:
    return dict(
        track_id=track_id,
        t_s=d.t_s,
        label=d.label,
        confidence=d.confidence,
        model=d.model,
        **_box_columns(d.box),
    )


def _box_columns(box: Box) -> dict[str, float]:
    return dict(box_x1=box.x1, box_y1=box.y1, box_x2=box.x2, box_y2=box.y2)


def _now() -> Any:
    return func.now()
