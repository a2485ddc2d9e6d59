"""Settings of the HTTP API (``Settings.api``, ``VIDKG_API__*``).

Closed and bounded like every settings model: a misspelt key is an error. The defaults
are the safe ones: loopback only, every request needs a key, uploads capped.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class ApiSettings(BaseModel):
    """`vidkg serve`: where it listens, who may call it, and how much it accepts."""

    model_config = ConfigDict(extra="forbid")

    host: str = Field(default="127.0.0.1", description="Address `vidkg serve` binds.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port `vidkg serve` binds.")
    workers: int = Field(
        default=1, ge=1, le=64, description="HTTP server processes of `vidkg serve`."
    )
    open: bool = Field(
        default=False,
        description="Serve every request without an API key (local use only: `vidkg serve` "
        "warns when it is bound beyond loopback).",
    )
    cors_origins: list[str] = Field(
        default=[], description="Browser origins allowed to call the API (CORS); none by default."
    )
    max_upload_mb: float = Field(
        default=20_000.0, gt=0, le=1_000_000, description="Largest video upload, in MiB."
    )
    max_body_kb: int = Field(
        default=256, ge=1, le=65_536, description="Largest JSON request body, in KiB."
    )
    register_roots: list[Path] = Field(
        default=[],
        description='Server-side folders `POST /v1/videos {"path": ...}` may register '
        "from (resolved, symlinks followed); none: registering paths is off.",
    )
    rate_limit_per_minute: int = Field(
        default=600, ge=0, le=1_000_000, description="Requests per key per minute; 0: no limit."
    )
    page_max: int = Field(
        default=1000, ge=1, le=100_000, description="Largest page of a list or evidence endpoint."
    )
    clip_max_s: float = Field(
        default=120.0, gt=0, le=3600, description="Longest transcoded clip, in seconds."
    )
    clip_cache_mb: float = Field(
        default=2048.0, gt=0, le=1_000_000, description="Transcoded clips kept, in MiB."
    )
    job_poll_s: float = Field(
        default=1.0,
        gt=0,
        le=60,
        description="Without a broker: how often `vidkg serve`'s job runner looks for "
        "queued jobs; also the progress stream's interval.",
    )
    webhook_timeout_s: float = Field(
        default=10.0, gt=0, le=120, description="A watch's webhook call gives up after this."
    )
    webhook_retries: int = Field(
        default=5,
        ge=0,
        le=20,
        description="Retries of a failed webhook call (backoff 1, 2, 4 s...).",
    )
