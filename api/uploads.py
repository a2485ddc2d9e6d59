"""Video uploads, streamed to disk: never held in memory, capped while they arrive, and
probed before anything is recorded.

The multipart body is parsed as it streams (python-multipart's push parser); the
``file`` part goes to a partial file under ``VIDKG_HOME/uploads/.partial`` with its
SHA-256 computed on the way. Then the file moves to ``uploads/<sha256>/<name>`` and is
registered like any other path (probed: a non-video is refused with the probe's reason).
Whatever goes wrong (too large, connection cut mid-body, not a video), the ``finally``
removes what was written: a failed or refused upload leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request

from api.problems import Problem
from indexer.catalog import Registration, register_video
from indexer.probe import ProbeError
from vidkg.settings import Settings


class _FilePart:
    """Receives python-multipart's callbacks and writes the form's first ``file`` part
    to ``path``, hashing it on the way; other parts are ignored."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name: str | None = None  # the client's file name
        self.done = False  # the part ended (the body was not cut off inside it)
        self.digest = hashlib.sha256()
        self._handle: BinaryIO | None = None
        self._headers: dict[bytes, bytes] = {}
        self._field = b""
        self._value = b""

    def callbacks(self) -> dict[str, Callable[..., None]]:
        return {
            "on_part_begin": self._begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._data,
            "on_part_end": self.close,
        }

    def _begin(self) -> None:
        self._headers, self._field, self._value = {}, b"", b""

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._field.lower()] = self._value
        self._field, self._value = b"", b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        if options.get(b"name") == b"file" and self.name is None:
            self.name = options.get(b"filename", b"upload").decode("utf-8", "replace")
            self._handle = open(self.path, "wb")  # noqa: SIM115 - closed by close()

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self._handle is not None:
            chunk = data[start:end]
            self._handle.write(chunk)
            self.digest.update(chunk)

    def close(self) -> None:
        """End of the file part (or cleanup): close it; the part is done only when the
        parser reached its end."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None
            self.done = True


def safe_name(name: str) -> str:
    """A file name without folders or odd characters (the client chose it)."""
    base = os.path.basename(name.replace("\\", "/")).strip() or "upload"
    cleaned = re.sub(r"[^A-Za-z0-9._ -]", "_", base).lstrip(".") or "upload"
    return cleaned[:200]


async def receive_upload(
    request: Request, sessions: sessionmaker[Session], settings: Settings
) -> Registration:
    """Stream the request's ``file`` part to disk and register it; refuse with problem
    details (413 too large, 422 no file part, 415 not a video)."""
    cap = int(settings.api.max_upload_mb * 1024 * 1024)
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > cap:
        raise Problem(413, _too_large(settings))
    _, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if not boundary:
        raise Problem(422, "multipart body without a boundary")
    partial_dir = settings.uploads_dir / ".partial"
    partial_dir.mkdir(parents=True, exist_ok=True)
    part = _FilePart(partial_dir / uuid.uuid4().hex)
    try:
        await _stream(request, MultipartParser(boundary, part.callbacks()), cap, settings)
        if part.name is None or not part.done:
            raise Problem(422, "no complete 'file' part in the form")
        stored, fresh = _keep(part, settings)
        try:
            return _register(stored, sessions, settings)
        except Exception:
            if fresh:  # never remove the file of an earlier upload of the same bytes
                shutil.rmtree(stored.parent, ignore_errors=True)
            raise
    finally:  # refused, cut off or failed: the partial file goes
        part.close()
        part.path.unlink(missing_ok=True)


async def _stream(request: Request, parser: MultipartParser, cap: int, settings: Settings) -> None:
    """Feed the body to the parser as it arrives, stopping at ``cap`` bytes."""
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > cap:
                raise Problem(413, _too_large(settings))
            parser.write(chunk)
        parser.finalize()
    except MultipartParseError as exc:
        raise Problem(422, f"malformed multipart body: {exc}") from None


def _too_large(settings: Settings) -> str:
    return f"upload over {settings.api.max_upload_mb:g} MiB (VIDKG_API__MAX_UPLOAD_MB)"


def _keep(part: _FilePart, settings: Settings) -> tuple[Path, bool]:
    """Move the finished upload to its place, a folder named by its content. The same
    bytes uploaded again (under any name) find the first file: ``False``, nothing new."""
    folder = settings.uploads_dir / part.digest.hexdigest()
    existing = sorted(folder.iterdir()) if folder.is_dir() else []
    if existing:
        return existing[0], False
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / safe_name(part.name or "upload")
    os.replace(part.path, target)
    return target, True


def _register(path: Path, sessions: sessionmaker[Session], settings: Settings) -> Registration:
    try:
        reg = register_video(sessions, settings, path)
    except ProbeError as exc:
        raise Problem(415, f"not a video vidkg can index: {exc.detail}") from None
    return reg


def resolve_registrable(raw: str, settings: Settings) -> Path:
    """A server-side path inside one of VIDKG_API__REGISTER_ROOTS, symlinks followed;
    anything else is refused (traversal and links out of the roots included)."""
    roots = [r.resolve() for r in settings.api.register_roots]
    if not roots:
        raise Problem(403, "registering server paths is off (set VIDKG_API__REGISTER_ROOTS)")
    if "\x00" in raw:
        raise Problem(422, "the path holds a NUL character")
    try:
        path = Path(raw).resolve(strict=True)
    except (OSError, RuntimeError):
        raise Problem(404, "no such file") from None
    if not any(path.is_relative_to(root) for root in roots):
        raise Problem(403, "the path is outside VIDKG_API__REGISTER_ROOTS")
    if not path.is_file():
        raise Problem(422, "the path is not a regular file")
    return path
