"""Turns video files into stored, timestamped evidence.

Depends on ``vidkg`` (settings, database, schema) and on ``graph``; never on
``retrieval`` or ``api``.
"""
