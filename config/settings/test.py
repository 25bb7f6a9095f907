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
    "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend", "QUEUES": ["default", "email"]}
}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_AUTOREFRESH = True

from ventanilla.identity.keys import generate_rsa_pem  # noqa: E402

OAUTH2_PROVIDER = {**OAUTH2_PROVIDER, "OIDC_RSA_PRIVATE_KEY": generate_rsa_pem()}
