"""Alembic migrations of the vidkg schema (run them with ``vidkg db upgrade``)."""
