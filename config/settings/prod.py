"""Production: everything comes from the environment; refuse to start when a secret is missing.

PostgreSQL (DATABASE_URL) and Redis (REDIS_URL) are the only shared state: any number of gunicorn processes
on any number of machines can serve behind one address (docs/operations.md, «Producción»)."""

import json
import os

from django.core.exceptions import ImproperlyConfigured

from ventanilla.identity.keys import inactive_keys_from_env

from .base import *

_REQUIRED = ("SECRET_KEY", "DATABASE_URL", "ALLOWED_HOSTS", "OIDC_RSA_PRIVATE_KEY", "REDIS_URL")
_missing = [name for name in _REQUIRED if not os.environ.get(name)]
if _missing:
    raise ImproperlyConfigured(
        "Faltan variables de entorno obligatorias para producción: " + ", ".join(_missing)
    )

DEBUG = False
SECRET_KEY = os.environ["SECRET_KEY"]
OAUTH2_PROVIDER["OIDC_RSA_PRIVATE_KEYS_INACTIVE"] = inactive_keys_from_env()
if len(SECRET_KEY) < 32:
    raise ImproperlyConfigured("SECRET_KEY debe tener al menos 32 caracteres.")

SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Only `make serve-prod` on plain local http turns this off (SECURE_COOKIES=0); never behind real TLS.
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", 31536000))
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
STORAGES["staticfiles"] = {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}
DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ.get("CONN_MAX_AGE", 60))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

# --- Redis: cache, the cache layer of sessions, rate-limit counters and the task queue -----------------
# App processes keep no state of their own: everything shared lives in PostgreSQL or in this Redis.
REDIS_URL = os.environ["REDIS_URL"]
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "vt"),
        "TIMEOUT": 300,
        # A slow or absent Redis must fail a request quickly, not hang a worker.
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    }
}
# Sessions are written through to the database and read from Redis: losing Redis loses no session.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# Tasks go to Redis through RQ; workers (`manage.py rqworker default email --job-class
# django_tasks_rq.Job`) can run on any number of machines. The RQ backend refuses `priority=`.
INSTALLED_APPS += ["django_rq"]
_QUEUES = ["default", "email", "webhooks"]
RQ_QUEUES = {name: {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 600} for name in _QUEUES}
TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": _QUEUES}}

# Rate limits (ventanilla.core.ratelimit) can be tuned per scope without code, e.g.
# VENTANILLA_RATE_LIMITS='{"login": {"limit": 10, "window": 60}}'; scopes not named keep base.py's values.
if os.environ.get("VENTANILLA_RATE_LIMITS"):
    try:
        VENTANILLA_RATE_LIMITS = {
            **VENTANILLA_RATE_LIMITS,
            **json.loads(os.environ["VENTANILLA_RATE_LIMITS"]),
        }
    except ValueError as exc:
        raise ImproperlyConfigured(f"VENTANILLA_RATE_LIMITS no es JSON válido: {exc}") from exc

# --- Logs: one JSON object per line on stdout (ventanilla.core.logging.JsonFormatter) ----------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "ventanilla.core.logging.JsonFormatter"}},
    "handlers": {
        "stdout": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": "json"}
    },
    "root": {"handlers": ["stdout"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # RQ's worker sees the root handler and adds none of its own, so its lines are JSON too.
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", 25))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "30"))  # the outbox lease must outlast it (inbox.E001)
# Production signs with keys imported from PKCS#12 (manage.py documents_key_import); the development CA is
# neither created nor trusted unless this is explicitly turned on.
DOCUMENTS_DEV_CA = env_bool("DOCUMENTS_DEV_CA", False)

SMS_PROVIDER = os.environ.get("SMS_PROVIDER", "ventanilla.identity.sms.HttpSmsProvider")
