"""The README documents every setting, view and CLI command (Datasette's test_docs idea).

A setting counts as documented when README.md names its variable, or names its group's
prefix and its own ``__NAME`` on one line (the table groups related settings).
"""

from __future__ import annotations

import re

import typer
from pydantic import BaseModel

from api.cli import app
from tests.support import REPO
from tests.test_schema import VIEWS
from vidkg.settings import Settings

README = (REPO / "README.md").read_text()


def _variables(model: type[BaseModel], prefix: str) -> list[str]:
    out = []
    for name, field in model.model_fields.items():
        var = f"{prefix}{name.upper()}"
        kind = field.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            out += _variables(kind, f"{var}__")
        else:
            out.append(var)
    return out


def _documented(var: str) -> bool:
    if re.search(rf"`{var}`", README):
        return True
    group, _, leaf = var.rpartition("__")
    return any(
        f"{group}__" in line and f"__{leaf}`" in line for line in README.splitlines()
    ) or any(f"`{group}`" in line and f"`__{leaf}`" in line for line in README.splitlines())


def test_every_setting_is_documented() -> None:
    missing = [v for v in _variables(Settings, "VIDKG_") if not _documented(v)]
    assert missing == []


def test_every_view_is_documented() -> None:
    assert [v for v in sorted(VIEWS) if f"`{v}`" not in README] == []


def _commands(group: typer.Typer, prefix: str) -> list[str]:
    out = [f"{prefix}{c.name or c.callback.__name__}".strip() for c in group.registered_commands]
    for sub in group.registered_groups:
        out += _commands(sub.typer_instance, f"{prefix}{sub.name} ")
    return out


def _command_documented(command: str) -> bool:
    """``vidkg jobs show`` literally, or a line ``vidkg jobs list | show ...``."""
    group, _, leaf = command.rpartition(" ")
    return f"vidkg {command}" in README or any(
        f"vidkg {group} " in line and re.search(rf"\| {leaf}\b|\b{leaf} \|", line)
        for line in README.splitlines()
    )


def test_every_cli_command_is_documented() -> None:
    commands = _commands(app, "")
    assert "graph rebuild" in commands and "ingest" in commands
    assert [c for c in commands if not _command_documented(c)] == []


def test_every_retriever_and_answerer_is_documented() -> None:
    from retrieval.registry import ANSWERERS, RETRIEVERS, load_builtins

    load_builtins()
    names = [*RETRIEVERS, *ANSWERERS]
    assert "lexical" in names and "extractive" in names
    assert [n for n in names if f"`{n}`" not in README] == []


def test_every_http_endpoint_is_documented() -> None:
    """Each operation of the OpenAPI document is named in README as ``METHOD /path``."""
    from api.app import create_app

    paths = create_app(Settings()).openapi()["paths"]  # builds routes only: no database
    operations = [f"{m.upper()} {p}" for p, ops in paths.items() for m in ops]
    assert "POST /v1/ask" in operations and "GET /v1/search" in operations
    assert [o for o in operations if f"`{o}" not in README] == []
