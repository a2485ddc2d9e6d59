"""Schemathesis against the live server's own OpenAPI document: every operation, with
an admin key, a bounded number of generated requests each. No response may be a 5xx, and
every response must match what the document promises (status, content type, schema).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from api.keys import KeyStore, Scope
from indexer.catalog import register_video
from tests.api_support import live_server
from tests.support import REPO, VTEST, require
from vidkg.db import Database
from vidkg.settings import Settings

CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_schema_conformance"
)


def test_no_server_error_and_no_response_off_schema(
    settings: Settings, db: Database, tmp_path: Path
) -> None:
    register_video(db.sessions, settings, require(VTEST))  # something for ids to find
    admin = KeyStore(db.sessions).create(frozenset({Scope.ADMIN}), "schemathesis").secret
    env = {
        "VIDKG_INDEXER__STAGES": '["scenes"]',  # jobs it starts stay cheap
        "VIDKG_API__CLIP_MAX_S": "3",
        "VIDKG_API__RATE_LIMIT_PER_MINUTE": "0",
    }
    with live_server(settings, tmp_path / "serve.log", env) as base:
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "schemathesis.cli",
                "run",
                f"{base}/openapi.json",
                "--header",
                f"Authorization: Bearer {admin}",
                "--checks",
                CHECKS,
                "--max-examples",
                "10",
                "--phases",
                "examples,coverage,fuzzing,stateful",
                "--workers",
                "1",
                "--seed",
                "20261130",
                "--suppress-health-check",
                "all",
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=900,
        )
    report = run.stdout[-6000:] + run.stderr[-2000:]
    assert run.returncode == 0, report
    assert "API Operations" in run.stdout, report
