"""Damaged and hostile media (tests/media/malformed.py), each through ``vidkg ingest``.

Files run in child processes, as a user would run them, under a hard time bound: a hang
is a timeout, a crash a negative return code. Files with the same stages share one
``vidkg ingest`` (a batch of at most ``BATCH`` files, one fresh database), so models
load once a batch rather than once a file. Each file is either refused with a probe
reason (one line, nothing stored) or ingested for what it holds, its job ending
succeeded or failed with a one-line reason per failed stage. Afterwards nothing is
half-written: every checkpoint is terminal, each done checkpoint's rows are all there,
keyframe files match their rows, no refused file left a row, and no temporary file is
left.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from indexer.probe import RejectReason
from tests.conftest import fresh_database
from tests.media.malformed import CASE_NAMES, Case, build_corpus
from tests.support import REPO, cli_env
from vidkg.db import open_database
from vidkg.settings import Settings

BOUND_S = 60.0  # per batch, for start-up and model loading
PER_FILE_S = 30.0  # and per file of the batch
BATCH = 12
# Rows each stage's checkpoint counts (rows_written), by table.
COUNTED = {
    "scenes": "SELECT (SELECT count(*) FROM scenes) + (SELECT count(*) FROM frames)",
    "asr": "SELECT count(*) FROM speech_segments",
    "ocr": "SELECT count(*) FROM onscreen_text",
    "detect": "SELECT (SELECT count(*) FROM tracks) + (SELECT count(*) FROM detections)",
    "clip": "SELECT count(*) FROM frames WHERE embedding IS NOT NULL",
    "caption": "SELECT count(*) FROM captions",
}


@dataclass(frozen=True)
class Batch:
    settings: Settings
    done: subprocess.CompletedProcess[str]
    wall: float
    results: dict[str, dict[str, Any]]  # case name -> its result
    scratch: Path
    cases: list[Case]


@pytest.fixture(scope="module")
def batches(
    tmp_path_factory: pytest.TempPathFactory, vidkg_home: Path, template_db: str
) -> Iterator[dict[str, Batch]]:
    """Every case's batch, run once: case name -> batch."""
    cases = build_corpus(tmp_path_factory.mktemp("malformed"))
    groups: dict[tuple[str, float], list[Case]] = {}
    for case in cases:
        groups.setdefault((case.stages, case.chunk_s), []).append(case)
    found: dict[str, Batch] = {}
    with ExitStack() as stack:
        for group in groups.values():
            for i in range(0, len(group), BATCH):
                chunk = group[i : i + BATCH]
                settings = stack.enter_context(fresh_database(vidkg_home, template_db))
                batch = _ingest(chunk, settings, tmp_path_factory.mktemp("tmp"))
                found |= dict.fromkeys((c.name for c in chunk), batch)
        yield found


@pytest.mark.parametrize("name", CASE_NAMES)
def test_malformed_file(name: str, batches: dict[str, Batch]) -> None:
    batch = batches[name]
    case = next(c for c in batch.cases if c.name == name)
    done = batch.done
    assert done.returncode in (0, 1), f"crashed (exit {done.returncode}):\n{done.stderr[-3000:]}"
    result = batch.results[name]
    _record(case, result, batch.wall / len(batch.cases))
    if case.expect == "refused":
        _check_refused(case, done, result)
    else:
        _check_ingested(case, result)
    _check_nothing_half_written(batch)
    assert not _temporary_files(batch.scratch), "temporary files left behind"


def _ingest(cases: list[Case], settings: Settings, scratch: Path) -> Batch:
    env = {**cli_env(settings), "VIDKG_INDEXER__CHUNK_S": str(cases[0].chunk_s)}
    env.update(TMPDIR=str(scratch))
    stages = ["--stages", cases[0].stages] if cases[0].stages else []
    paths = [os.fsencode(c.path) for c in cases]
    args = [sys.executable, "-m", "api.cli", "ingest", "--json", *stages, *paths]
    bound = BOUND_S + PER_FILE_S * len(cases)
    started = time.monotonic()
    try:
        done = subprocess.run(
            args, env=env, cwd=REPO, capture_output=True, text=True, timeout=bound
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{[c.name for c in cases]}: no answer within {bound:.0f} s (hung)")
    wall = time.monotonic() - started
    out = json.loads(done.stdout)["results"] if done.stdout.strip() else []
    assert len(out) == len(cases), f"{len(out)} results for {len(cases)} files: {done.stderr}"
    results = {c.name: r for c, r in zip(cases, out, strict=True)}
    return Batch(settings, done, wall, results, scratch, cases)


def _check_refused(case: Case, done: subprocess.CompletedProcess[str], result: dict) -> None:
    assert done.returncode == 1  # some file of the batch was refused
    assert result["status"] == "rejected", result
    assert result["reason"] in set(RejectReason)
    if case.reason is not None:
        assert result["reason"] == case.reason, result
    error = result["error"]
    assert error and "\n" not in error and len(error) < 300, error
    assert "Traceback" not in done.stderr, done.stderr


def _check_ingested(case: Case, result: dict) -> None:
    assert result["status"] in ("ingested", "partial", "failed"), result
    report = result["report"]
    assert report["status"] in ("succeeded", "failed")
    for failure in report["failures"]:
        assert failure["stage"] and failure["error"], failure
        assert "\n" not in failure["error"], failure
    if report["status"] == "failed":
        assert any(f["stage"] != "decode" for f in report["failures"]), report


def _check_nothing_half_written(batch: Batch) -> None:
    db = open_database(batch.settings)
    try:
        with db.engine.connect() as conn:
            states = dict(
                conn.execute(
                    text("SELECT status, count(*) FROM ingest_checkpoints GROUP BY status")
                ).all()
            )
            jobs = conn.execute(text("SELECT status FROM ingest_jobs")).scalars().all()
            videos = conn.execute(text("SELECT status FROM videos")).scalars().all()
            paths = set(conn.execute(text("SELECT source_path FROM videos")).scalars())
            written = dict(
                conn.execute(
                    text(
                        "SELECT stage, coalesce(sum(rows_written), 0) FROM ingest_checkpoints "
                        "WHERE status = 'done' GROUP BY stage"
                    )
                ).all()
            )
            counts = {s: conn.execute(text(q)).scalar_one() for s, q in COUNTED.items()}
            images = conn.execute(text("SELECT image_path FROM frames")).scalars().all()
    finally:
        db.dispose()
    stored = _files(batch.settings.media_dir)
    refused = [c for c in batch.cases if batch.results[c.name]["status"] == "rejected"]
    assert not {str(c.path) for c in refused} & paths, "a refused file left its row"
    assert len(videos) == len(jobs) == len(batch.cases) - len(refused)
    assert set(states) <= {"done", "skipped", "failed"}, states
    assert set(jobs) <= {"succeeded", "failed"}, jobs
    assert set(videos) <= {"ready", "partial", "failed"}, videos
    for stage, n in counts.items():
        assert n == written.get(stage, 0), f"{stage}: {n} rows, checkpoints say {written}"
    assert stored == {Path(p) for p in images if p}, "keyframe files and rows differ"


# Libraries' own runtime files in TMPDIR, not vidkg's: the embedded server wheel's lock
# and onnxruntime's session file (whisper's VAD model).
_LIBRARY_FILES = ("python_PostgresServer", ".ses")


def _temporary_files(scratch: Path) -> list[Path]:
    """Files left in the child's TMPDIR, less the libraries' own runtime files."""
    return [p for p in _files(scratch) if not set(_LIBRARY_FILES) & set(p.parts)]


def _files(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()} if folder.exists() else set()


def _record(case: Case, result: dict[str, Any], wall: float) -> None:
    """With VIDKG_CORPUS_REPORT set, append what vidkg did to that JSON-lines file."""
    target = os.environ.get("VIDKG_CORPUS_REPORT")
    if target:
        line = {"name": case.name, "damage": case.damage, "wall_s": round(wall, 1)}
        with open(target, "a") as fh:
            fh.write(json.dumps({**line, "did": describe(result)}) + "\n")


def describe(result: dict[str, Any]) -> str:
    """One line of what vidkg did with a file (for reports)."""
    if result["status"] == "rejected":
        return f"refused ({result['reason']}): {result['error']}"
    report = result["report"]
    rows = ", ".join(f"{s} {st['rows']}" for s, st in report["stages"].items())
    fails = "; ".join(f"{f['stage']}: {f['error']}" for f in report["failures"])
    return f"{result['status']} (job {report['status']}; rows {rows})" + (
        f"; failures: {fails}" if fails else ""
    )
