"""Logging for the CLI and workers: vidkg's own warnings on the terminal, everything else
(torch, easyocr, ultralytics, Python warnings) in ``VIDKG_HOME/logs/vidkg.log``.

An analyst running ``vidkg ask`` should read the answer, not a deprecation notice from a
library; an operator still finds every message in the log file.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

OWN = ("api", "indexer", "graph", "retrieval", "vidkg", "__main__")


class _OwnOnly(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.name.split(".", 1)[0] in OWN


def log_file(home: Path) -> Path:
    return home / "logs" / "vidkg.log"


def configure_logging(level: str, home: Path) -> None:
    """Terminal: vidkg's records at ``level``; file: every record, warnings included."""
    root = logging.getLogger()
    if getattr(root, "_vidkg_configured", False):
        return
    fmt = logging.Formatter("%(levelname)s %(name)s: %(message)s")
    terminal = logging.StreamHandler()
    terminal.setLevel(level)
    terminal.addFilter(_OwnOnly())
    terminal.setFormatter(fmt)
    root.addHandler(terminal)
    try:
        path = log_file(home)
        path.parent.mkdir(parents=True, exist_ok=True)
        file = logging.FileHandler(path, encoding="utf-8")
        file.setLevel(min(logging.getLevelName(level), logging.WARNING))
        file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(file)
    except OSError:  # a read-only home: the terminal handler still works
        pass
    root.setLevel(min(logging.getLevelName(level), logging.WARNING))
    logging.captureWarnings(True)
    warnings.simplefilter("default")
    root._vidkg_configured = True  # type: ignore[attr-defined]
