"""The library as the API and the CLI list it: videos with what was extracted (the
``v_videos`` view), filtered and paged."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

_LIST = text("""
    SELECT vv.*, count(*) OVER () AS total_rows FROM v_videos vv
    WHERE (CAST(:status AS text) IS NULL OR vv.status = :status)
      AND (CAST(:name AS text) IS NULL OR vv.file_name ILIKE '%' || :name || '%')
    ORDER BY vv.video_id
    LIMIT :limit OFFSET :offset""")

_ONE = text("""
    SELECT vv.*, v.sha256, v.size_bytes, v.container, v.video_codec, v.audio_codec,
           v.decodable_s, v.error, v.source_path
    FROM v_videos vv JOIN videos v ON v.id = vv.video_id
    WHERE vv.video_id = :id""")


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_videos(
    sessions: sessionmaker[Session],
    *,
    status: str | None = None,
    name: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """A page of videos (by id) and how many match in all."""
    params = {
        "status": status,
        "name": _escape_like(name) if name else None,
        "limit": limit,
        "offset": offset,
    }
    with sessions() as s:
        rows = [dict(r) for r in s.execute(_LIST, params).mappings()]
        if not rows and offset:
            total = s.execute(
                text(
                    "SELECT count(*) FROM v_videos WHERE (CAST(:status AS text) IS NULL "
                    "OR status = :status) AND (CAST(:name AS text) IS NULL "
                    "OR file_name ILIKE '%' || :name || '%')"
                ),
                params,
            ).scalar_one()
        else:
            total = rows[0]["total_rows"] if rows else 0
    return rows, int(total)


def get_video(sessions: sessionmaker[Session], video_id: int) -> dict[str, Any] | None:
    with sessions() as s:
        row = s.execute(_ONE, {"id": video_id}).mappings().one_or_none()
    return None if row is None else dict(row)
