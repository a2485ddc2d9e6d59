"""Settings of search and question answering (``Settings.retrieval``, ``VIDKG_RETRIEVAL__*``).

Closed and bounded like every settings model: a misspelt key is an error. The VLM and the
LLM planner speak the OpenAI-compatible chat API (vLLM, Ollama, llama.cpp, hosted), so
nothing here names a vendor.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class ChatModelSettings(BaseModel):
    """An OpenAI-compatible chat endpoint (unset ``base_url``: not used)."""

    model_config = ConfigDict(extra="forbid")

    base_url: str | None = Field(
        default=None,
        description="Base URL of an OpenAI-compatible API, e.g. http://localhost:8001/v1.",
    )
    model: str = Field(default="default", min_length=1, description="Model name to ask for.")
    api_key: SecretStr | None = Field(default=None, description="Bearer key, if it needs one.")
    timeout_s: float = Field(default=60.0, gt=0, le=600, description="Per request.")
    retries: int = Field(default=2, ge=0, le=10, description="Retries after a failure.")
    max_tokens: int = Field(default=512, ge=16, le=32768, description="Answer length cap.")


class RetrievalSettings(BaseModel):
    """How questions become retrieval steps, how legs are fused, and who answers."""

    model_config = ConfigDict(extra="forbid")

    k: int = Field(default=10, ge=1, le=1000, description="Moments returned by default.")
    ask_moments: int = Field(
        default=20,
        ge=1,
        le=200,
        description="Moments ask retrieves and packs for its answerer (best first).",
    )
    max_k: int = Field(default=200, ge=1, le=10000, description="Largest k a caller may ask.")
    rrf_k: float = Field(
        default=60.0, ge=1, le=1000, description="Reciprocal rank fusion constant."
    )
    leg_depth: int = Field(
        default=50, ge=1, le=1000, description="Hits each retriever contributes to fusion."
    )
    merge_gap_s: float = Field(
        default=1.0,
        ge=0,
        le=60,
        description="Hits of one video closer than this merge into one moment.",
    )
    dense_min_similarity: float = Field(
        default=0.45,
        ge=-1,
        le=1,
        description="Cosine similarity under which a dense hit is not relevant.",
    )
    fuzzy_min_similarity: float = Field(
        default=0.55,
        ge=0.1,
        le=1,
        description="pg_trgm word_similarity under which a fuzzy text match is dropped.",
    )
    answer_min_score: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="An answer's evidence must cover at least this share of the question's "
        "key terms (or pass the dense floor) or ask says it does not know.",
    )
    relisten: bool = Field(
        default=True,
        description="When no evidence is relevant, decode the best-ranked speech moment "
        "again with the question's key terms as whisper's hotwords, and answer from what "
        "is re-heard if it passes the floor (whisper is loaded with the service).",
    )
    pack_tokens: int = Field(
        default=3000,
        ge=100,
        le=200000,
        description="Evidence packed for an answerer, in tokens (about 0.75 words each).",
    )
    answerer: Literal["extractive", "vlm"] = Field(
        default="extractive",
        description="Who answers: extractive (no model) or vlm (needs VIDKG_RETRIEVAL__VLM__"
        "BASE_URL; falls back to extractive when the VLM fails).",
    )
    planner: Literal["rules", "llm"] = Field(
        default="rules",
        description="rules (no model), or llm over VIDKG_RETRIEVAL__LLM__BASE_URL with the "
        "rules as fallback for malformed or slow output.",
    )
    planner_timeout_s: float = Field(
        default=5.0, gt=0, le=120, description="The LLM planner's latency cap."
    )
    vlm_images: int = Field(
        default=4, ge=0, le=32, description="Keyframes sent to the VLM with the evidence."
    )
    vlm: ChatModelSettings = Field(default_factory=ChatModelSettings)
    llm: ChatModelSettings = Field(default_factory=ChatModelSettings)
