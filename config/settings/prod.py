"""Production: everything comes from the environment; refuse to start when a secret is missing."""

import os

from django.core.exceptions import ImproperlyConfigured

from ventanilla.identity.keys import inactive_keys_from_env

from .base import *

_REQUIRED = ("SECRET_KEY", "DATABASE_URL", "ALLOWED_HOSTS", "OIDC_RSA_PRIVATE_KEY")
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
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", 31536000))
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
STORAGES["staticfiles"] = {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}
DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ.get("CONN_MAX_AGE", 60))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", 25))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)

SMS_PROVIDER = os.environ.get("SMS_PROVIDER", "ventanilla.identity.sms.HttpSmsProvider")
