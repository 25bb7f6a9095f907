"""Local development: SQLite by default, DEBUG on, no external service needed."""

from .base import *

DEBUG = True
SECRET_KEY = SECRET_KEY or "dev-only-insecure-key-not-for-production"
ALLOWED_HOSTS = ALLOWED_HOSTS or ["127.0.0.1", "localhost", "[::1]"]
EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
METRICS_TOKEN = METRICS_TOKEN or "dev-metrics-token"

if not OAUTH2_PROVIDER["OIDC_RSA_PRIVATE_KEY"]:
    from ventanilla.identity.keys import dev_signing_key

    OAUTH2_PROVIDER["OIDC_RSA_PRIVATE_KEY"] = dev_signing_key(VAR_DIR)
CASES_WEBHOOK_ALLOW_PRIVATE = True  # webhooks to a local test endpoint
INTEROP_ALLOW_PRIVATE_PROVIDERS = True  # the demo registries and test providers live on 127.0.0.1
DOCUMENTS_CALLBACK_ALLOW_PRIVATE = True  # approval callbacks to a local test endpoint
