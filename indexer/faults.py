"""Which errors are transient (the database or the broker went away) and which are not.

A transient fault is retried with backoff: the same unit runs again once the service is
back. Anything else raised while processing a chunk is about the input (a frame that
will not decode, a model that rejects it) and fails that unit with its reason, because
running it again would fail again. A unit that runs out of time stops as a whole.
"""

from __future__ import annotations

import kombu.exceptions
import psycopg
import redis.exceptions
import sqlalchemy.exc
from celery.exceptions import SoftTimeLimitExceeded

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


def out_of_time(exc: BaseException) -> bool:
    """The unit ran past ``worker.unit_time_limit_s`` (Celery's soft time limit): the
    whole unit stops and fails with :data:`OUT_OF_TIME`, its worker lives on."""
    return isinstance(exc, SoftTimeLimitExceeded)


OUT_OF_TIME = (
    "ran longer than VIDKG_WORKER__UNIT_TIME_LIMIT_S and was stopped: lower "
    "VIDKG_INDEXER__CHUNK_S or raise the limit (with RabbitMQ, keep it below the "
    "broker's consumer_timeout, 30 min by default)"
)
