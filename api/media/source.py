"""Which file a video is, whether browsers play it as it is, and the errors of media.

The media routes call this package; it knows no web framework, so its errors are typed
and the router turns them into problem details.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

RECIPE = "v1"  # bump when the encoding settings change: old cache entries are then unused
PLAYABLE_VIDEO = frozenset({"h264", "vp8", "vp9", "av1"})
PLAYABLE_AUDIO = frozenset({"aac", "opus", "vorbis", "mp3"})


class MediaError(Exception):
    """A request the media routes cannot serve; ``str()`` says why."""


class SourceMissing(MediaError):
    """The video is registered but its file is gone from the server."""


class BadSpan(MediaError):
    """Times outside the video, reversed, or a clip longer than allowed."""


@dataclass(frozen=True)
class Source:
    video_id: int
    path: Path
    file_name: str
    sha256: str
    container: str
    video_codec: str | None
    audio_codec: str | None
    end_s: float  # where the decodable media ends
    has_video: bool
    has_audio: bool
    rotation: int

    @property
    def playable(self) -> bool:
        """Would a browser play the file as it is (MP4 or WebM, web codecs)?"""
        web = "mp4" in self.container or "webm" in self.container
        video = not self.has_video or self.video_codec in PLAYABLE_VIDEO
        audio = not self.has_audio or self.audio_codec in PLAYABLE_AUDIO
        return web and video and audio


_SOURCE = text("""
    SELECT id, source_path, file_name, sha256, container, video_codec, audio_codec,
           least(duration_s, coalesce(decodable_s, duration_s)) AS end_s,
           has_video, has_audio, rotation
    FROM videos WHERE id = :id""")


def find_source(sessions: sessionmaker[Session], video_id: int) -> Source | None:
    if not 0 < video_id < 2**63:
        return None
    with sessions() as s:
        row = s.execute(_SOURCE, {"id": video_id}).mappings().one_or_none()
    if row is None:
        return None
    return Source(
        row["id"],
        Path(row["source_path"]),
        row["file_name"],
        row["sha256"].strip(),
        row["container"],
        row["video_codec"],
        row["audio_codec"],
        float(row["end_s"]),
        row["has_video"],
        row["has_audio"],
        int(row["rotation"] or 0),
    )


def source_stat(src: Source) -> os.stat_result:
    """The file's stat (the response needs it), or SourceMissing."""
    try:
        st = src.path.stat()
    except OSError:
        st = None
    if st is None or not stat.S_ISREG(st.st_mode):
        raise SourceMissing(
            f"the file of video {src.video_id} is missing on the server: {src.path}"
        )
    return st


_CONTAINER_TYPES = {
    "avi": "video/x-msvideo",
    "matroska,webm": "video/x-matroska",
    "mpegts": "video/mp2t",
    "mpeg": "video/mpeg",
    "asf": "video/x-ms-asf",
    "flv": "video/x-flv",
    "ogg": "video/ogg",
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "flac": "audio/flac",
}


def media_type(src: Source) -> str:
    """The file's MIME type, from the container the probe found (not the file name)."""
    if "mp4" in src.container:
        if src.path.suffix.lower() == ".mov":
            return "video/quicktime"
        return "video/mp4" if src.has_video else "audio/mp4"
    if src.container == "matroska,webm" and src.playable:
        return "video/webm" if src.has_video else "audio/webm"
    kind = _CONTAINER_TYPES.get(src.container, "application/octet-stream")
    if kind == "video/ogg" and not src.has_video:
        return "audio/ogg"
    return kind


@contextmanager
def decoding(src: Source) -> Iterator[None]:
    """A file that opened at registration but fails now (damaged, replaced) is a
    MediaError, answered as such rather than as a server fault."""
    import av.error

    try:
        yield
    except av.error.FFmpegError as exc:
        raise MediaError(f"cannot decode video {src.video_id}: {exc}") from exc
