"""The one settings object of vidkg.

Every knob is read here, from ``VIDKG_*`` environment variables (nested domains use
``__``, e.g. ``VIDKG_PROBE__MAX_FRAME_PIXELS``) or a ``.env`` file. Code receives a
``Settings`` instance instead of reading the environment itself, so tests and workers
can run side by side with different configurations.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from vidkg.api_settings import ApiSettings
from vidkg.graph_settings import GraphSettings
from vidkg.retrieval_settings import RetrievalSettings
from vidkg.stage_settings import IndexerSettings


class ProbeSettings(BaseModel):
    """Limits applied when a video is registered, before any expensive work starts."""

    max_frame_pixels: int = Field(
        default=8192 * 8192,
        description="Reject videos whose frames have more pixels than this (width * height).",
    )
    min_decodable_ratio: float = Field(
        default=0.98,
        description="A file whose last decodable frame comes before this fraction of its "
        "declared duration is reported as truncated.",
    )


class EmbeddingSettings(BaseModel):
    """Vector dimensions of the pgvector columns.

    They are fixed when the schema is created (HNSW indexes need a fixed dimension);
    the indexer checks that its models produce vectors of these sizes.
    """

    text_dim: int = Field(default=384, description="all-MiniLM-L6-v2 gives 384.")
    frame_dim: int = Field(default=512, description="open_clip ViT-B-32 gives 512.")


class WorkerSettings(BaseModel):
    """Distributed ingest: queues, routing, and how tasks survive faults.

    A job's work units go to queues by resource, so machines can specialise: a GPU
    machine listens on ``vision``, a CPU box on ``asr``. Every unit is idempotent
    (checkpointed in PostgreSQL), so redelivering one is always safe.
    """

    model_config = ConfigDict(extra="forbid")

    queues: list[str] = Field(
        default=["default", "asr", "vision", "graph"],
        description="Queues a worker consumes when `vidkg worker --queues` is not given.",
    )
    routes: dict[str, str] = Field(
        default={
            "visual": "vision",
            "asr": "asr",
            "derived": "vision",
            "graph": "graph",
            "finalize": "default",
        },
        description="Queue of each unit kind: visual (scenes, OCR, detection, CLIP of a "
        "chunk), asr (speech of a chunk), derived (captions and text embeddings of a "
        "chunk), graph (the video's knowledge graph, after every chunk), finalize (the "
        "end of the job). A kind left out goes to `default`.",
    )
    visibility_timeout_s: float = Field(
        default=3600.0,
        description="Redis only: a task not acknowledged this long after delivery is "
        "delivered again. Recovery does not wait for it (heartbeats find a dead worker's "
        "unit within `heartbeat_timeout_s`); keep it above the longest unit's run time so "
        "a live unit is not delivered twice.",
    )
    max_retries: int = Field(
        default=8,
        description="Retries of a unit after a transient fault (database or "
        "broker connection lost). Bad input is never retried: the unit fails with its reason.",
    )
    retry_backoff_max_s: float = Field(
        default=120.0, description="Longest wait between retries (waits double from 2 s)."
    )
    publish_timeout_s: float = Field(
        default=120.0,
        description="How long sending a task waits for an unreachable broker before failing.",
    )
    heartbeat_s: float = Field(
        default=5.0,
        gt=0.1,
        le=60.0,
        description="How often a running unit records in PostgreSQL that its worker is "
        "alive (from a thread of its own, whatever the unit is busy with).",
    )
    heartbeat_timeout_s: float = Field(
        default=60.0,
        ge=1.0,
        le=86400.0,
        description="A running unit whose heartbeat is older than this lost its worker: "
        "a live worker takes it back and sends it again (or fails it as poison). Keep it "
        "several times `heartbeat_s`.",
    )
    pending_timeout_s: float = Field(
        default=120.0,
        ge=1.0,
        le=86400.0,
        description="A unit sent this long ago that no worker started, while its queue in "
        "the broker is empty, lost its message (a broker restarted without its "
        "append-only file, a purged queue): it is sent again.",
    )
    recovery_interval_s: float = Field(
        default=15.0,
        gt=0.1,
        le=3600.0,
        description="How often every worker looks for lost units; a PostgreSQL lock makes "
        "one worker at a time do it.",
    )
    max_unit_attempts: int = Field(
        default=3,
        ge=1,
        le=100,
        description="A unit started this many times without finishing (it killed or hung "
        "its worker each time) is failed with the reason, and the rest of its job goes on.",
    )
    unit_time_limit_s: float = Field(
        default=1500.0,
        ge=10.0,
        le=7 * 86400.0,
        description="A unit still running after this long stops and fails with the "
        "reason (one that does not stop is killed with its pool process a minute later "
        "and counts as lost). Keep it far above a chunk's run time and, with RabbitMQ, "
        "below the broker's `consumer_timeout` (30 min by default; a unit unacknowledged "
        "past it makes RabbitMQ close the channel, which stops a Celery worker).",
    )
    poll_s: float = Field(default=1.0, description="How often `vidkg ingest` reads progress.")
    stall_warning_s: float = Field(
        default=900.0,
        description="`vidkg ingest` and `jobs retry` warn when no unit of the job they "
        "follow has started or ended for this long (no worker, or a broker lost its queue).",
    )


class Settings(BaseSettings):
    """Configuration for the CLI, the API and the workers."""

    model_config = SettingsConfigDict(
        env_prefix="VIDKG_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
    )

    home: Path = Field(
        default_factory=lambda: Path(platformdirs.user_data_dir("vidkg")),
        description="Where vidkg keeps its embedded database and derived media files.",
    )
    models_dir: Path | None = Field(
        default=None,
        description="Where models converted once (whisper joined, ONNX exports) are kept; "
        "homes may share one. Unset: VIDKG_HOME/models.",
    )
    database_url: SecretStr | None = Field(
        default=None,
        description="SQLAlchemy/libpq URL of an external PostgreSQL with pgvector. "
        "Unset: an embedded PostgreSQL is started under VIDKG_HOME.",
    )
    analyst_database_url: SecretStr | None = Field(
        default=None,
        description="URL for analyst SQL, logging in as the read-only vidkg_analyst role. "
        "Unset: the main database's location as vidkg_analyst (embedded server).",
    )
    analyst_statement_timeout_s: float = Field(
        default=30.0, description="Analyst queries are cancelled after this many seconds."
    )
    analyst_row_limit: int = Field(default=1000, description="Rows returned at most.")
    broker_url: str | None = Field(
        default=None,
        description="Celery broker (redis://... or amqp://...). Unset: ingest runs in-process.",
    )
    embedded_database: str = Field(
        default="vidkg", description="Database name inside the embedded server."
    )
    api: ApiSettings = Field(default_factory=ApiSettings)
    log_level: str = "WARNING"
    worker: WorkerSettings = Field(default_factory=WorkerSettings)
    probe: ProbeSettings = Field(default_factory=ProbeSettings)
    embeddings: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    indexer: IndexerSettings = Field(default_factory=IndexerSettings)
    graph: GraphSettings = Field(default_factory=GraphSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)

    @property
    def media_dir(self) -> Path:
        """Derived files (keyframes, thumbnails), one folder per video."""
        return self.home / "media"

    @property
    def uploads_dir(self) -> Path:
        """Videos uploaded through the API, one folder per content hash."""
        return self.home / "uploads"

    @property
    def model_cache_dir(self) -> Path:
        """Models converted or exported once, reused by every process of this install."""
        return self.models_dir or self.home / "models"

    @property
    def pgdata_dir(self) -> Path:
        return self.home / "pgdata"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings of this process, read once from the environment.

    Entry points (CLI, API app, Celery worker) call this once and pass the result down;
    library code takes ``Settings`` as an argument.
    """
    return Settings()


def describe_invalid(exc: ValidationError) -> str:
    """One line per refused value, named as it is set (``VIDKG_INDEXER__DEVICE``), so a
    typo in the environment reads as such instead of as a traceback."""
    lines = []
    for err in exc.errors():
        name = "VIDKG_" + "__".join(str(part).upper() for part in err["loc"])
        if err["type"] == "extra_forbidden":
            lines.append(f"{name}: no such setting (README's Configuration lists them)")
        elif any(word in name for word in _SECRET_WORDS):  # never echo a secret
            lines.append(f"{name}: {err['msg']}")
        else:
            lines.append(f"{name}: {err['msg']} (got {err.get('input')!r})")
    return "\n".join(lines)


_SECRET_WORDS = ("KEY", "PASSWORD", "SECRET", "TOKEN", "URL")
