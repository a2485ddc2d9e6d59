"""``python -m tests.poison_worker worker ...``: a real ``vidkg worker`` whose picture
stages of chunk 1 misbehave, as ``VIDKG_TEST_POISON`` says: ``kill`` (the default)
SIGKILLs the pool process, as the kernel's OOM killer would; ``hang`` sleeps for ten
minutes. The tests check that such a unit ends (failed as poison, or stopped by the
unit time limit) and that the rest of its job goes on."""

from __future__ import annotations

import os
import signal
import time
from typing import Any

from indexer.pipeline import Pipeline

POISON_CHUNK = 1
_run_chunk = Pipeline.run_chunk


def _misbehaves(self: Pipeline, video: Any, chunk: Any, todo: list[str], *a: Any) -> None:
    if chunk.index == POISON_CHUNK and "scenes" in todo:
        if os.environ.get("VIDKG_TEST_POISON", "kill") == "hang":
            time.sleep(600)
        else:
            os.kill(os.getpid(), signal.SIGKILL)
    _run_chunk(self, video, chunk, todo, *a)


Pipeline.run_chunk = _misbehaves  # type: ignore[method-assign]

if __name__ == "__main__":
    from api.cli import main

    main()
