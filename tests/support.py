"""Paths of the real test media and helpers shared by the tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from vidkg.settings import Settings

REPO = Path(__file__).resolve().parent.parent
OPENCV_DATA = Path("/usr/share/doc/opencv-doc/examples/data")
VTEST = OPENCV_DATA / "vtest.avi"
MEGAMIND = OPENCV_DATA / "Megamind.avi"
ALSA_VOICE = Path("/usr/share/sounds/alsa/Front_Center.wav")
SAMPLE = REPO / "samples" / "briefing.mp4"
TEMPLATE_DB = "vidkg_template"


def require(path: Path) -> Path:
    """Real media comes from Debian packages that .ci/run installs; fail loudly without."""
    if not path.exists():
        pytest.fail(f"{path} is missing: apt-get install opencv-doc alsa-utils ffmpeg")
    return path


def cli_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env.update(VIDKG_HOME=str(settings.home), VIDKG_EMBEDDED_DATABASE=settings.embedded_database)
    env.pop("VIDKG_DATABASE_URL", None)
    return env


def run_cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the installed ``vidkg`` command in a child process, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        env=cli_env(settings),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )


# The shared benchmark kit (beside the repository: ../shared/bench) builds haystacks.
BENCH = REPO.parent / "shared" / "bench"
