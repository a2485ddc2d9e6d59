"""Which errors are transient (the database or the broker went away) and which are not.

A transient fault is retried with backoff: the same unit runs again once the service is
back. Anything else raised while processing a chunk is about the input (a frame that
will not decode, a model that rejects it) and fails that unit with its reason, because
running it again would fail again.
"""

from __future__ import annotations

import kombu.exceptions
import psycopg
import redis.exceptions
import sqlalchemy.exc

TRANSIENT: tuple[type[BaseException], ...] = (
    sqlalchemy.exc.OperationalError,  # server gone, connection refused, admin shutdown
    sqlalchemy.exc.InterfaceError,
    psycopg.OperationalError,
    kombu.exceptions.OperationalError,  # broker unreachable while sending tasks
    redis.exceptions.ConnectionError,
    ConnectionError,
    TimeoutError,
)


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, sqlalchemy.exc.DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, TRANSIENT)
