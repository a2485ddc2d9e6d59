"""Media for browsers: a video's source file, clips of it in a codec every browser plays
(``transcode``), single frames as JPEG (``stills``), and the disk cache they share
(``cache``). The HTTP media routes call this package."""

from api.media.cache import FileCache, file_cache, forget
from api.media.source import (
    BadSpan,
    MediaError,
    Source,
    SourceMissing,
    find_source,
    media_type,
    source_stat,
)
from api.media.stills import Still, still
from api.media.transcode import ENCODERS, Clip, clip, clip_span, encoder, transcode

__all__ = [
    "ENCODERS",
    "BadSpan",
    "Clip",
    "FileCache",
    "MediaError",
    "Source",
    "SourceMissing",
    "Still",
    "clip",
    "clip_span",
    "encoder",
    "file_cache",
    "find_source",
    "forget",
    "media_type",
    "source_stat",
    "still",
    "transcode",
]
