"""Errors as RFC 7807 problem details (``application/problem+json``), never a traceback.

Handlers raise :class:`Problem` (or let a service's typed error through, mapped in
``ERRORS``); FastAPI's own validation errors and anything unexpected are turned into the
same shape. An unexpected error is logged with its traceback and answered with a short
id to find it in the log, never with its text.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from indexer.jobs import JobError, JobNotFound
from retrieval.service import BadRequest
from retrieval.sql import AnalystQueryError

log = logging.getLogger(__name__)
MEDIA_TYPE = "application/problem+json"


class ProblemDetail(BaseModel):
    """RFC 7807 problem details."""

    type: str = Field(default="about:blank", examples=["about:blank"])
    title: str = Field(examples=["Not Found"])
    status: int = Field(examples=[404])
    detail: str = Field(default="", examples=["no video 42"])
    instance: str | None = Field(default=None, examples=["/v1/videos/42"])
    errors: list[dict[str, Any]] | None = Field(
        default=None, description="Per-field errors of an invalid request."
    )


class Problem(Exception):
    """Raise from a handler: answered as problem details with this status."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers


TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    410: "Gone",
    411: "Length Required",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    416: "Range Not Satisfiable",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}

# Typed errors of the service layer, answered with a status of their own.
ERRORS: dict[type[Exception], int] = {
    BadRequest: 422,
    AnalystQueryError: 400,
    JobNotFound: 404,
    JobError: 409,
}


def problem_response(
    request: Request,
    status: int,
    detail: str,
    headers: dict[str, str] | None = None,
    errors: list[dict[str, Any]] | None = None,
) -> JSONResponse:
    body = ProblemDetail(
        title=TITLES.get(status, "Error"),
        status=status,
        detail=detail,
        instance=request.url.path,
        errors=errors,
    )
    return JSONResponse(
        body.model_dump(exclude_none=True), status, headers=headers, media_type=MEDIA_TYPE
    )


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [
        {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")), "type": e["type"]}
        for e in exc.errors()
    ]


def install(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(request, exc.status, exc.detail, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else TITLES.get(exc.status_code, "")
        return problem_response(request, exc.status_code, detail, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _validation_errors(exc)
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        detail = f"{'.'.join(first['loc'])}: {first['msg']}"
        return problem_response(request, 422, detail, errors=errors)

    @app.exception_handler(DataError)
    async def _data(request: Request, exc: DataError) -> JSONResponse:
        # A value the database refuses to store or compare (a NUL character, a number
        # out of range): the request's fault, answered with PostgreSQL's own reason.
        diag = getattr(exc.orig, "diag", None)
        first = (str(exc.orig).splitlines() or ["a value the database refuses"])[0]
        reason = (diag.message_primary if diag else None) or first
        return problem_response(request, 422, f"invalid value: {reason}")

    for kind, status in ERRORS.items():

        async def _typed(request: Request, exc: Exception, status: int = status) -> JSONResponse:
            return problem_response(request, status, str(exc))

        app.add_exception_handler(kind, _typed)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        ref = uuid.uuid4().hex[:12]
        log.error("unexpected error %s on %s", ref, request.url.path, exc_info=exc)
        return problem_response(request, 500, f"internal error (ref {ref}, see the server log)")


# Documented on every route: what an error looks like.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ProblemDetail, "content": {MEDIA_TYPE: {}}, "description": TITLES[status]}
    for status in (400, 401, 403, 404, 413, 422, 429)
}


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Route-specific problem statuses for the OpenAPI page (``responses=``)."""
    return {
        s: {"model": ProblemDetail, "content": {MEDIA_TYPE: {}}, "description": TITLES[s]}
        for s in statuses
    }
