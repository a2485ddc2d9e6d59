"""onnxruntime sessions on the CPU that share the cores with the rest of the ingest.

onnxruntime's defaults suit a process that runs one model and nothing else: as many
intra-op threads as cores, which spin after each run waiting for the next. Here the
video decoder, whisper and the other models run in the same process, and with several
workers on one host, in the processes beside it: spinning threads take their cores. So
every session of ours gets the registry's thread count and threads that sleep when idle.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def cpu_session(path: Path | str, threads: int) -> Any:
    """An ``onnxruntime.InferenceSession`` of ``path`` with ``threads`` intra-op threads
    that do not spin, on the CPU execution provider."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
