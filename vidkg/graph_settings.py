"""Settings of the knowledge-graph build (``Settings.graph``, ``VIDKG_GRAPH__*``).

Bounded and closed (``extra="forbid"``): a misspelt key is an error, not a silent default.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class GraphSettings(BaseModel):
    """How evidence becomes events, entities and relations."""

    model_config = ConfigDict(extra="forbid")

    max_event_s: float = Field(
        default=60.0,
        ge=1.0,
        le=3600.0,
        description="Consecutive spans of one shot that show the same texts and objects "
        "merge into one event of at most this many seconds.",
    )
    min_text_chars: int = Field(
        default=2,
        ge=1,
        le=20,
        description="On-screen texts with fewer letters and digits than this are not entities.",
    )
    fuzzy_min_ratio: float = Field(
        default=90.0,
        ge=50.0,
        le=100.0,
        description="Two on-screen texts (or names) are one entity when their normalised "
        "forms are this similar (rapidfuzz ratio, 0-100) and carry the same digits.",
    )
    fuzzy_min_chars: int = Field(
        default=6,
        ge=1,
        le=100,
        description="Shorter texts and names merge only when identical after normalising.",
    )
    terms_per_segment: int = Field(
        default=3,
        ge=0,
        le=20,
        description="Key phrases (yake) kept per speech segment as `term` entities.",
    )
    term_max_words: int = Field(default=2, ge=1, le=5, description="Longest key phrase.")
    person_link_similarity: float = Field(
        default=0.75,
        ge=0.0,
        le=1.0,
        description="Person tracks whose appearance descriptors are at least this similar "
        "(histogram intersection, 0-1) to every track of a person are that person. 1 links "
        "nothing. On the 5-minute haystack, tracks of the recurring pedestrian footage "
        "scored 0.51-0.81 with each other and up to 0.67 with a false person on a photo.",
    )
    person_link_min_detections: int = Field(
        default=2,
        ge=1,
        le=1000,
        description="Person tracks of fewer boxes than this are never linked to others.",
    )
    cache_graphs: int = Field(
        default=32,
        ge=1,
        le=10000,
        description="networkx graphs (per video, or the corpus) kept in memory per process.",
    )
