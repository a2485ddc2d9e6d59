"""The video catalog: registering files (once per content) and deleting them completely.

Registration probes first and writes one row in one statement, so a rejected file
leaves nothing behind, and two processes registering the same bytes at once end with
one row (the sha256 unique constraint decides; the loser reads the winner's id).
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, sessionmaker

from graph.store import GRAPH_LOCK, clear_video_graph, drop_orphans
from indexer.probe import ProbeError, RejectReason, VideoProbe, probe_video
from vidkg.schema import Video
from vidkg.settings import Settings

_HASH_BLOCK = 4 * 1024 * 1024


@dataclass(frozen=True)
class Registration:
    video_id: int
    sha256: str
    created: bool  # False: the same content was already registered
    probe: VideoProbe


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(_HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def media_dir(settings: Settings, video_id: int) -> Path:
    """Where derived files of a video (keyframes, thumbnails) live."""
    return settings.media_dir / str(video_id)


def register_video(sessions: sessionmaker[Session], settings: Settings, path: Path) -> Registration:
    """Probe ``path`` and record it; raises ProbeError (writing nothing) for bad input."""
    probe = probe_video(path, settings.probe)
    try:
        sha256 = file_sha256(probe.path)
    except OSError as exc:  # moved, deleted or made unreadable since it was probed
        raise ProbeError(
            path, RejectReason.UNREADABLE, f"cannot read the file: {exc.strerror or exc}"
        ) from exc
    values = dict(
        source_path=str(probe.path),
        file_name=probe.path.name,
        sha256=sha256,
        size_bytes=probe.size_bytes,
        container=probe.container,
        duration_s=probe.duration_s,
        fps=probe.fps,
        width=probe.width,
        height=probe.height,
        rotation=probe.rotation,
        video_codec=probe.video_codec,
        frame_count=probe.frame_count,
        has_audio=probe.has_audio,
        has_video=probe.has_video,
        decodable_s=probe.decodable_s,
        audio_codec=probe.audio_codec,
        audio_sample_rate=probe.audio_sample_rate,
        audio_channels=probe.audio_channels,
        probe=probe.to_json(),
    )
    with sessions.begin() as session:
        stmt = (
            insert(Video)
            .values(**values)
            .on_conflict_do_nothing(index_elements=[Video.sha256])
            .returning(Video.id)
        )
        video_id = session.execute(stmt).scalar_one_or_none()
        created = video_id is not None
        if not created:
            video_id = session.execute(select(Video.id).where(Video.sha256 == sha256)).scalar_one()
    return Registration(video_id, sha256, created, probe)


def delete_video(sessions: sessionmaker[Session], settings: Settings, video_id: int) -> bool:
    """Delete a video, every row that hangs off it, entities left without any mention,
    and its derived files. Returns False when there was no such video."""
    with sessions.begin() as session:
        # Graph builds link to shared entities: never drop one a build is linking to.
        session.execute(GRAPH_LOCK)
        touched = clear_video_graph(session, video_id)
        gone = session.execute(
            delete(Video).where(Video.id == video_id).returning(Video.source_path)
        ).scalar_one_or_none()
        if gone is None:
            return False
        # Entities are shared across videos; drop those this video alone supported.
        drop_orphans(session, touched)
    # Files go after the commit: a failed transaction must not leave rows without files.
    shutil.rmtree(media_dir(settings, video_id), ignore_errors=True)
    source = Path(gone)
    if source.is_relative_to(settings.uploads_dir):  # an upload is ours; a registered path is not
        shutil.rmtree(source.parent, ignore_errors=True)
    return True
