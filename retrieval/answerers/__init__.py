"""Built-in answerers: one module each, registered on import (one line per answerer)."""

from retrieval.answerers import extractive, vlm  # noqa: F401
