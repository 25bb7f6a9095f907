"""Settings for `make bench`: exactly ``config.settings.prod`` with the per-IP request rate limits lifted.

Why: the benchmark sends every request from 127.0.0.1, so production's per-IP limits (e.g. 120 searches and
20 sign-ins a minute) would turn it into a measurement of the rate limiter's 429 page. The limiter itself
still runs on every request (its Redis round trip is part of what is measured); only the thresholds are
raised. Everything else — DEBUG off, PostgreSQL, Redis cache and sessions, WhiteNoise manifest, JSON logs,
argon2id, gunicorn's config — is production's. Remove this module once production reads its limits from
the environment (then bench/run.py can use ``config.settings.prod`` with e.g. a limits variable).
"""

from typing import Any

from config.settings.prod import *  # noqa: F403

BENCH_UNLIMITED = {"limit": 10**9, "window": 60}


class _NoLimits(dict):
    """Every scope, including ones added later with a default in code, gets ``BENCH_UNLIMITED``."""

    def get(self, key: Any, default: Any = None) -> Any:
        return BENCH_UNLIMITED

    def __getitem__(self, key: Any) -> Any:
        return BENCH_UNLIMITED


VENTANILLA_RATE_LIMITS = _NoLimits()
