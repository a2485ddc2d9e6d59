"""The event knowledge graph: built from stored evidence, kept in PostgreSQL, traversed
with networkx. Imports only ``vidkg``; the indexer and retrieval call into it.

- ``graph.build.build_video_graph``: (re)build one video's graph (idempotent).
- ``graph.load.GraphCache``: a video's or the library's graph in networkx, cached.
- ``graph.queries``: timeline, first/last, after/before, neighbours, path, central.
"""
