"""Built-in retrievers: one module each, registered on import (one line per retriever)."""

from retrieval.retrievers import dense, entities, fuzzy, lexical, objects, visual  # noqa: F401
