"""Several processes on one embedded database, starting from nothing at the same moment."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import text

from tests.support import REPO, VTEST, require
from vidkg.db import connect, migrate
from vidkg.db.embedded import EmbeddedPostgres
from vidkg.settings import Settings

WORKER = """
import json, os, sys, time
from pathlib import Path
from sqlalchemy import text
from indexer.catalog import register_video
from vidkg.db import open_database
from vidkg.settings import Settings

settings = Settings(home=Path(sys.argv[1]))
start = float(sys.argv[3])
time.sleep(max(0.0, start - time.time()))  # both processes go at the same instant
db = open_database(settings)
reg = register_video(db.sessions, settings, Path(sys.argv[2]))
with db.engine.begin() as conn:
    for i in range(200):
        conn.execute(
            text("INSERT INTO speech_segments (video_id, start_s, end_s, text) "
                 "VALUES (:v, :s, :s + 1, :t)"),
            {"v": reg.video_id, "s": float(i), "t": f"process {os.getpid()} line {i}"},
        )
    backend = conn.execute(text("SELECT inet_server_port(), pg_postmaster_start_time()")).one()
print(json.dumps({"video_id": reg.video_id, "created": reg.created,
                  "postmaster": str(backend[1])}))
"""


def test_two_processes_share_one_server_one_schema_one_video(tmp_path: Path) -> None:

    home = tmp_path / "home"
    go = str(time.time() + 2.0)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(home), str(require(VTEST)), go],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        for _ in range(2)
    ]
    try:
        outputs = [p.communicate(timeout=120) for p in procs]
        for proc, (_, err) in zip(procs, outputs, strict=True):
            assert proc.returncode == 0, err
        results = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]

        assert len({r["video_id"] for r in results}) == 1
        assert sorted(r["created"] for r in results) == [False, True]
        assert len({r["postmaster"] for r in results}) == 1  # one server for both

        settings = Settings(home=home)
        db = connect(settings)
        assert migrate.current_revision(db.engine) == migrate.head_revision(settings)
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM videos")).scalar_one() == 1
            assert conn.execute(text("SELECT count(*) FROM speech_segments")).scalar_one() == 400
            versions = conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one()
            assert versions == 1
        db.dispose()
    finally:
        EmbeddedPostgres(home / "pgdata").stop()
