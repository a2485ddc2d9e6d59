"""Query planning and evidence retrieval over text, vectors, the graph and SQL.

Depends on ``vidkg`` and ``graph``; never on ``api``.
"""
