"""Per-invocation state of the CLI: the settings, and the database opened on first use."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

import typer
from rich.console import Console

from indexer.models import ModelRegistry
from vidkg.db import Database, open_database
from vidkg.settings import Settings


@dataclass
class CliState:
    settings: Settings
    _db: Database | None = field(default=None, repr=False)
    _registry: ModelRegistry | None = field(default=None, repr=False)

    @property
    def db(self) -> Database:
        if self._db is None:
            self._db = open_database(self.settings)
        return self._db

    @property
    def registry(self) -> ModelRegistry:
        """Models of this process, each loaded on first use."""
        if self._registry is None:
            self._registry = ModelRegistry(self.settings.indexer, self.settings.model_cache_dir)
        return self._registry


def state(ctx: typer.Context) -> CliState:
    return ctx.find_root().obj


def console(stderr: bool = False) -> Console:
    """Rich console; piped output gets a wide fixed width instead of truncated tables."""
    stream = sys.stderr if stderr else sys.stdout
    return Console(stderr=stderr, soft_wrap=True, width=None if stream.isatty() else 160)
