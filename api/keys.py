"""API keys: created with scopes, stored hashed, shown once, revocable.

A key is ``vk_`` plus 43 URL-safe characters (256 random bits). Only its SHA-256 is
stored: with that much entropy a slow password hash buys nothing, and checking a key
stays one indexed lookup per request. The first characters are kept as a prefix so an
operator can tell keys apart in ``vidkg apikeys list``.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from vidkg.schema import ApiKey

KEY_PREFIX = "vk_"


class Scope(StrEnum):
    """What a key may do. ``admin`` implies the others."""

    READ = "read"  # search, ask, evidence, clips, graph, SQL, watches' hits
    INGEST = "ingest"  # upload, register, start/cancel/retry jobs, watches
    ADMIN = "admin"  # delete videos, manage other callers' watches


@dataclass(frozen=True)
class KeyInfo:
    id: int
    name: str
    prefix: str
    scopes: frozenset[Scope]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    def allows(self, scope: Scope) -> bool:
        return Scope.ADMIN in self.scopes or scope in self.scopes


@dataclass(frozen=True)
class NewKey:
    info: KeyInfo
    secret: str  # shown once


def parse_scopes(raw: str | list[str]) -> frozenset[Scope]:
    """``"read,ingest"`` or a list of names; unknown names are an error."""
    names = raw.split(",") if isinstance(raw, str) else raw
    names = [n.strip() for n in names if n.strip()]
    bad = [n for n in names if n not in Scope.__members__.values()]
    if bad or not names:
        choices = ", ".join(s.value for s in Scope)
        raise ValueError(
            f"scopes must be one or more of {choices} (got {', '.join(bad) or 'none'})"
        )
    return frozenset(Scope(n) for n in names)


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _info(row: ApiKey) -> KeyInfo:
    return KeyInfo(
        row.id,
        row.name,
        row.prefix,
        frozenset(Scope(s) for s in row.scopes),
        row.created_at,
        row.last_used_at,
        row.revoked_at,
    )


class KeyStore:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def create(self, scopes: frozenset[Scope], name: str | None = None) -> NewKey:
        secret = KEY_PREFIX + secrets.token_urlsafe(32)
        prefix = secret[:10]
        row = ApiKey(
            name=name or f"key {prefix}",
            prefix=prefix,
            key_hash=hash_key(secret),
            scopes=sorted(s.value for s in scopes),
        )
        with self.sessions.begin() as s:
            s.add(row)
            s.flush()
            s.refresh(row)
            return NewKey(_info(row), secret)

    def list(self) -> list[KeyInfo]:
        with self.sessions() as s:
            return [_info(r) for r in s.scalars(select(ApiKey).order_by(ApiKey.id))]

    def revoke(self, key_id: int) -> bool:
        """``False``: no such key, or already revoked."""
        with self.sessions.begin() as s:
            done = s.execute(
                update(ApiKey)
                .where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
                .values(revoked_at=func.now())
            )
            return done.rowcount == 1

    def verify(self, secret: str) -> KeyInfo | None:
        """The key's record, if ``secret`` is a live key; its last use is recorded."""
        if not secret.startswith(KEY_PREFIX) or len(secret) > 200:
            return None
        with self.sessions.begin() as s:
            row = s.execute(
                update(ApiKey)
                .where(ApiKey.key_hash == hash_key(secret), ApiKey.revoked_at.is_(None))
                .values(last_used_at=func.now())
                .returning(ApiKey)
            ).scalar_one_or_none()
            return None if row is None else _info(row)
