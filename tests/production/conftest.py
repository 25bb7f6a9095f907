"""Production-mode tests: real gunicorn processes on PostgreSQL and Redis (issue 8, «Production mode»).

They need a PostgreSQL server where the test may create and drop a database, and a Redis whose database 15
it may flush; without either they are skipped. Override the addresses with PRODUCTION_TEST_POSTGRES_URL
(a maintenance database, e.g. ``postgres://postgres@127.0.0.1:5432/postgres``) and PRODUCTION_TEST_REDIS_URL.
"""

from __future__ import annotations

import os

import pytest

POSTGRES_ADMIN_URL = os.environ.get(
    "PRODUCTION_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"
)
REDIS_TEST_URL = os.environ.get("PRODUCTION_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "production: starts real app processes against PostgreSQL and Redis (slow, skips without)"
    )


def _postgres_reachable() -> str | None:
    try:
        import psycopg

        with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:
        return f"PostgreSQL unreachable at {POSTGRES_ADMIN_URL}: {exc.__class__.__name__}"
    return None


def _redis_reachable() -> str | None:
    try:
        import redis

        client = redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=3, socket_timeout=3)
        client.ping()
        client.close()
    except Exception as exc:
        return f"Redis unreachable at {REDIS_TEST_URL}: {exc.__class__.__name__}"
    return None


@pytest.fixture(scope="session")
def production_services() -> None:
    reason = _postgres_reachable() or _redis_reachable()
    if reason:
        pytest.skip(reason)
