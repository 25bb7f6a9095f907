"""Test settings: fast hashing, in-memory e-mail, immediate tasks; SQLite unless DATABASE_URL is set."""

from .base import *

DEBUG = False
SECRET_KEY = "test-only-key"  # noqa: S105
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.MD5PasswordHasher",
    "ventanilla.identity.hashers.ClientSecretHasher",
]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
TASKS = {
    "default": {
        "BACKEND": "django_tasks.backends.immediate.ImmediateBackend",
        "QUEUES": ["default", "email", "webhooks"],
    }
}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_AUTOREFRESH = True
# No rate limit gets in the way of a test, whatever its scope ("*"); tests of a limit set their own. No
# Redis either: the cache stays Django's default local memory.
VENTANILLA_RATE_LIMITS = {"*": {"limit": 10**9, "window": 60}}
METRICS_TOKEN = "test-metrics-token"  # noqa: S105

from ventanilla.identity.keys import generate_rsa_pem  # noqa: E402

OAUTH2_PROVIDER = {**OAUTH2_PROVIDER, "OIDC_RSA_PRIVATE_KEY": generate_rsa_pem()}
CASES_WEBHOOK_ALLOW_PRIVATE = True  # webhooks to a local test endpoint
INTEROP_ALLOW_PRIVATE_PROVIDERS = True  # the demo registries and test providers live on 127.0.0.1
DOCUMENTS_CALLBACK_ALLOW_PRIVATE = True  # approval callbacks to a local test endpoint
