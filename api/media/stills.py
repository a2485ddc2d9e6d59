"""Single frames as JPEG: the indexer's keyframe of a scene, or the frame at a time."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from api.media.cache import file_cache
from api.media.source import RECIPE, BadSpan, MediaError, Source, decoding, source_stat

if TYPE_CHECKING:
    import numpy as np

    from vidkg.settings import Settings


@dataclass(frozen=True)
class Still:
    path: Path
    t_s: float  # time of the frame in the image
    origin: str  # "keyframe" (the indexer's) or "decoded"


_KEYFRAME = text("""
    SELECT f.t_s, f.image_path FROM frames f
    JOIN scenes s ON s.video_id = f.video_id AND f.t_s BETWEEN s.start_s AND s.end_s
    WHERE f.video_id = :v AND f.image_path IS NOT NULL AND :t BETWEEN s.start_s AND s.end_s
    ORDER BY abs(f.t_s - :t) LIMIT 1""")


def still(
    settings: Settings, sessions: sessionmaker[Session], src: Source, t: float, exact: bool
) -> Still:
    """A JPEG of the video at ``t``: the indexer's keyframe of the scene at ``t`` (the image
    answers cite) unless ``exact`` or there is none; else the frame shown at ``t``,
    decoded and scaled like keyframes (``indexer.frame_width``), and cached."""
    source_stat(src)
    if not src.has_video:
        raise BadSpan(f"video {src.video_id} has no pictures (audio only)")
    if not (math.isfinite(t) and 0 <= t <= src.end_s):
        raise BadSpan(f"t must be between 0 and the video's end ({src.end_s:.3f} s), not {t:g}")
    if not exact:
        with sessions() as s:
            row = s.execute(_KEYFRAME, {"v": src.video_id, "t": t}).one_or_none()
        if row is not None and Path(row.image_path).is_file():
            return Still(Path(row.image_path), float(row.t_s), "keyframe")
    width = settings.indexer.frame_width
    name = f"{src.sha256}_{round(t * 1000)}_{width}_{RECIPE}.jpg"
    with decoding(src):
        path = file_cache(settings).get(name, lambda out: _save_frame(src, t, width, out))
    return Still(path, round(t, 3), "decoded")


def _save_frame(src: Source, t: float, width: int, out: Path) -> None:
    """Write the frame shown at ``t`` (the last one at or before it; the first one after
    it when ``t`` precedes every frame) as a JPEG."""
    from PIL import Image

    from indexer.media import VideoReader

    reader = VideoReader(src.path, width)
    best: np.ndarray | None = None
    for frame in reader.frames(max(0.0, t - 1.0), t + 1e-6, lambda _t: True):
        best = frame.rgb()
    if best is None:
        best = next((f.rgb() for f in reader.frames(t, src.end_s + 1.0, lambda _t: True)), None)
    if best is None:
        raise MediaError(f"no frame of video {src.video_id} decodes near {t:g} s")
    Image.fromarray(best).save(out, format="JPEG", quality=85)
