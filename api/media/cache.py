"""Files made on demand (clips, decoded frames) under ``home/clips``.

Named by the video's SHA-256, the span and the encoder, so they survive re-registration
and never go stale. A file is written under a temporary name and renamed into place
(atomic), so concurrent makers never corrupt it; in one process a striped lock keeps
them from doing the work twice. Past ``clip_cache_mb`` the least recently served files
go (access time, set on each hit).
"""

from __future__ import annotations

import os
import threading
import time
import uuid
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vidkg.settings import Settings


class FileCache:
    """Files made on demand in one folder, least recently served evicted first."""

    STRIPES = 64

    def __init__(self, folder: Path, max_bytes: int) -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        self._locks = [threading.Lock() for _ in range(self.STRIPES)]

    def get(self, name: str, make: Callable[[Path], None]) -> Path:
        """The cached file ``name``, made by ``make(temp_path)`` if absent."""
        path = self.folder / name
        if self._hit(path):
            return path
        with self._locks[zlib.crc32(name.encode()) % self.STRIPES]:
            if self._hit(path):  # made by another thread while this one waited
                return path
            self.folder.mkdir(parents=True, exist_ok=True)
            temp = self.folder / f".{name}.{uuid.uuid4().hex}.tmp"
            try:
                make(temp)
                os.replace(temp, path)  # atomic: readers see the old file or the whole new one
            finally:
                temp.unlink(missing_ok=True)
        self.evict(keep=path)
        return path

    def _hit(self, path: Path) -> bool:
        try:
            st = path.stat()
            os.utime(path, ns=(time.time_ns(), st.st_mtime_ns))  # used now; mtime (ETag) kept
        except FileNotFoundError:
            return False
        return True

    def evict(self, keep: Path | None = None, grace_s: float = 60.0) -> None:
        """Remove the least recently served files until the folder fits; files served in
        the last ``grace_s`` stay (a response may be reading them), as do temp files of
        makers at work (an hour old: a crashed maker's, removed)."""
        now = time.time()
        files = []
        for entry in os.scandir(self.folder):
            try:
                st = entry.stat()
            except FileNotFoundError:  # evicted by another process meanwhile
                continue
            if entry.name.endswith(".tmp"):
                if now - st.st_mtime > 3600:
                    Path(entry.path).unlink(missing_ok=True)
                continue
            files.append((st.st_atime, st.st_size, Path(entry.path)))
        total = sum(size for _, size, _ in files)
        for atime, size, path in sorted(files):
            if total <= self.max_bytes:
                break
            if path == keep or now - atime < grace_s:
                continue
            path.unlink(missing_ok=True)
            total -= size


_caches: dict[tuple[Path, int], FileCache] = {}
_caches_lock = threading.Lock()


def file_cache(settings: Settings) -> FileCache:
    """The process's cache of clips and frames (one per folder, shared by requests)."""
    key = (settings.home / "clips", int(settings.api.clip_cache_mb * 2**20))
    with _caches_lock:
        return _caches.setdefault(key, FileCache(*key))


def forget(settings: Settings, sha256: str) -> None:
    """Remove the cached clips and frames of a video's content (it was deleted)."""
    folder = settings.home / "clips"
    if folder.is_dir():
        for path in folder.glob(f"{sha256}_*"):
            path.unlink(missing_ok=True)
