"""``vidkg apikeys ...``: create, list and revoke the HTTP API's keys."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from api.cli.state import console, state
from api.keys import KeyInfo, KeyStore, parse_scopes

app = typer.Typer(help="API keys of the HTTP API: create, list, revoke.")
out = console()
err = console(stderr=True)


def _json(k: KeyInfo) -> dict[str, object]:
    return {
        "id": k.id,
        "name": k.name,
        "prefix": k.prefix,
        "scopes": sorted(k.scopes),
        "created_at": k.created_at.isoformat(),
        "last_used_at": k.last_used_at.isoformat() if k.last_used_at else None,
        "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None,
    }


@app.command()
def create(
    ctx: typer.Context,
    scopes: Annotated[str, typer.Option(help="Comma-separated: read, ingest, admin.")] = "read",
    name: Annotated[str | None, typer.Option(help="A name to tell the key apart.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Create a key and print it once (only its hash is stored)."""
    try:
        chosen = parse_scopes(scopes)
    except ValueError as exc:
        err.print(f"[red]error[/red]: {exc}", highlight=False)
        raise typer.Exit(2) from None
    new = KeyStore(state(ctx).db.sessions).create(chosen, name)
    if as_json:
        print(json.dumps({**_json(new.info), "key": new.secret}, indent=2))
        return
    print(new.secret)
    err.print(
        f"key {new.info.id} ({new.info.name}; {', '.join(sorted(chosen))}): "
        "store it now, it is not shown again",
        highlight=False,
    )


@app.command("list")
def list_keys(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Keys with their scopes and last use (never their secrets)."""
    keys = KeyStore(state(ctx).db.sessions).list()
    if as_json:
        print(json.dumps([_json(k) for k in keys], indent=2))
        return
    table = Table(
        "id", "name", "prefix", "scopes", "created", "last used", "revoked", box=box.SIMPLE_HEAD
    )
    for k in keys:
        row = _json(k)
        table.add_row(
            str(k.id),
            k.name,
            k.prefix + "…",
            ",".join(sorted(k.scopes)),
            *(str(row[c] or "")[:19] for c in ("created_at", "last_used_at", "revoked_at")),
        )
    out.print(table)


@app.command()
def revoke(ctx: typer.Context, key_id: int) -> None:
    """Revoke a key: requests with it get 401 from now on."""
    if not KeyStore(state(ctx).db.sessions).revoke(key_id):
        err.print(f"no live key {key_id}", highlight=False)
        raise typer.Exit(1)
    out.print(f"revoked key {key_id}")
