"""The web UI: a small single page served by the API's own process at ``/``.

Plain HTML, CSS and ES-module JavaScript from ``static/`` (no CDN, no build step, no
framework); the page calls only the public ``/v1`` API, so it can do nothing a key could
not do with curl. Budget: under 60 KB uncompressed for everything the page loads
(``tests/test_web_ui.py`` checks it), first load under a second on loopback.

The routes are left out of the OpenAPI document: they are not part of the API.
Every UI response carries a Content-Security-Policy that allows only this origin (no
inline script or style, no other host), ``nosniff``, and no framing.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC = Path(__file__).parent / "static"
PREFIX = "/ui"
BUDGET_BYTES = 60_000

CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "media-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",  # revalidated with the ETag: an upgrade shows at once
}


class UiFiles(StaticFiles):
    """The static folder, with the UI's security headers on every answer."""

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers.update(HEADERS)
        return response


def install(app: FastAPI) -> None:
    """Serve the UI: ``GET /`` (the page) and ``/ui/*`` (its scripts, styles, icon)."""
    app.mount(PREFIX, UiFiles(directory=STATIC), name="ui")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html", headers=HEADERS)
