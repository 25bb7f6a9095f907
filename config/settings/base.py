"""Settings shared by every environment. Environment-specific modules import * from here."""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url

from ventanilla.core.countries import get_pack

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("VENTANILLA_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# One installation serves one country: Bolivia by default, Paraguay with VENTANILLA_COUNTRY=PY.
VENTANILLA_COUNTRY = (os.environ.get("VENTANILLA_COUNTRY") or "BO").strip().upper()
COUNTRY_PACK = get_pack(VENTANILLA_COUNTRY)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
DEBUG = False
ALLOWED_HOSTS: list[str] = env_list("ALLOWED_HOSTS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_tasks",
    "django_tasks_db",
    "ninja",
    "oauth2_provider",
    "ventanilla.core",
    "ventanilla.identity",
    "ventanilla.catalog",
    "ventanilla.documents",
    "ventanilla.inbox",
    "ventanilla.cases",
    "ventanilla.interop",
    "ventanilla.demo",
]

MIDDLEWARE = [
    # Outermost, so it counts and times every response (Prometheus, /metrics).
    "ventanilla.core.metrics.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Before WhiteNoise, so static files carry the same headers as pages.
    "ventanilla.core.middleware.SecurityHeadersMiddleware",
    "ventanilla.core.middleware.RequestContextMiddleware",
    "ventanilla.core.middleware.ApiErrorShapeMiddleware",
    # Before sessions and the database: a refused API call costs one cache round trip.
    "ventanilla.core.ratelimit.ApiRateLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "ventanilla.identity.middleware.AccountSessionMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "ventanilla.core.context_processors.platform",
            ],
        },
    },
]

DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
IS_POSTGRES = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
if IS_POSTGRES:
    INSTALLED_APPS.append("django.contrib.postgres")
else:
    DATABASES["default"].setdefault("OPTIONS", {})
    # WAL lets the task worker and the web server share the file without "database is locked".
    DATABASES["default"]["OPTIONS"].setdefault(
        "init_command", "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;"
    )
    DATABASES["default"]["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "identity.User"
LOGIN_URL = "identity:login"
LOGIN_REDIRECT_URL = "identity:account"
LOGOUT_REDIRECT_URL = "catalog:home"

PASSWORD_HASHERS = [
    "ventanilla.identity.hashers.Argon2idOwaspHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "ventanilla.identity.hashers.ClientSecretHasher",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "es"
LANGUAGES = [("es", "Español")]
TIME_ZONE = COUNTRY_PACK.time_zone
USE_I18N = True
USE_TZ = True
LOCALE_PATHS = [BASE_DIR / "locale"]

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_URL = "/media/"
MEDIA_ROOT = VAR_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# Content-Security-Policy sent by ventanilla.core.middleware on every response (no 'unsafe-inline').
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'"
)

# Upload limits (bytes); CSV/JSON catalogue imports are checked against this too.
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
VENTANILLA_IMPORT_MAX_BYTES = int(os.environ.get("VENTANILLA_IMPORT_MAX_BYTES", 10 * 1024 * 1024))

TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default", "email", "webhooks"],
    }
}

# --- Ciudadanía Digital: OpenID Connect provider (django-oauth-toolkit) -------------------------------
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OIDC_SCOPES = {
    "openid": "Identificador de su cuenta",
    "profile": "Nombres, apellidos y fecha de nacimiento",
    "email": "Correo electrónico",
    "phone": "Número de celular",
    "documento_identidad": "Tipo y número de documento de identidad",
    "fecha_nacimiento": "Fecha de nacimiento",
    "celular": "Número de celular",
    "offline_access": "Mantener el acceso cuando usted no esté conectado",
    # Scopes of institutions' systems (client credentials), not of citizens' sign-in.
    "expedientes": "Expedientes de la institución (consulta y transiciones)",
    "notificaciones": "Envío de notificaciones electrónicas",
    "aprobacion_documentos": "Solicitudes de aprobación de documentos",
    "interoperabilidad": "Consultas a servicios de interoperabilidad",
}
OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": os.environ.get("OIDC_RSA_PRIVATE_KEY", ""),
    "OIDC_RSA_PRIVATE_KEYS_INACTIVE": [],
    "OIDC_RP_INITIATED_LOGOUT_ENABLED": True,
    "OIDC_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OIDC_RP_INITIATED_LOGOUT_ALWAYS_PROMPT": False,
    # VentanillaLogoutView revokes only the requesting client's tokens; an expired hint is not accepted.
    "OIDC_RP_INITIATED_LOGOUT_DELETE_TOKENS": False,
    "OIDC_RP_INITIATED_LOGOUT_ACCEPT_EXPIRED_TOKENS": False,
    "OAUTH2_VALIDATOR_CLASS": "ventanilla.identity.oidc.VentanillaValidator",
    "SCOPES": OIDC_SCOPES,
    "DEFAULT_SCOPES": ["openid"],
    # PKCE: required for public clients by VentanillaValidator.is_pkce_required; only S256 is accepted.
    "CLIENT_SECRET_HASHER": "vt_hmac_sha256",
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "ACCESS_TOKEN_EXPIRE_SECONDS": 600,
    "ID_TOKEN_EXPIRE_SECONDS": 600,
    "REFRESH_TOKEN_EXPIRE_SECONDS": 30 * 24 * 3600,
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    # Consent is remembered by VentanillaAuthorizationView (Consent rows), not by existing tokens.
    "REQUEST_APPROVAL_PROMPT": "force",
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https", "http"],
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
}
CLIENT_SECRET_PEPPER = os.environ.get("CLIENT_SECRET_PEPPER", "")
# SMS: the development provider only logs (and keeps messages in memory for tests).
SMS_PROVIDER = os.environ.get("SMS_PROVIDER", "ventanilla.identity.sms.DevSmsProvider")
SMS_HTTP_URL = os.environ.get("SMS_HTTP_URL", "")
SMS_HTTP_TOKEN = os.environ.get("SMS_HTTP_TOKEN", "")
SMS_HTTP_TIMEOUT = float(os.environ.get("SMS_HTTP_TIMEOUT", "10"))
# Identity proofing against the civil registry: a demo registry until interoperability plugs the real one.
CIVIL_REGISTRY_VERIFIER = os.environ.get(
    "CIVIL_REGISTRY_VERIFIER", "ventanilla.identity.verifiers.DemoCivilRegistry"
)
# Brute-force protection: failures allowed per account / per IP within the window.
VENTANILLA_LOGIN_MAX_FAILURES_ACCOUNT = 5
VENTANILLA_LOGIN_MAX_FAILURES_IP = 30
VENTANILLA_LOGIN_WINDOW_SECONDS = 15 * 60
# Request rate limits per client IP (ventanilla.core.ratelimit): fixed windows counted in the cache, so in
# production every app process shares them through Redis. Sign-in counts POSTs only, on top of the lockout.
VENTANILLA_RATE_LIMITS = {
    "login": {"limit": 20, "window": 60},
    "register": {"limit": 10, "window": 3600},
    "search": {"limit": 120, "window": 60},
    "api": {"limit": 300, "window": 60},
}

# Bearer token for /metrics (Prometheus). Empty: the endpoint answers 403.
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")

EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "no-responder@ventanilla.localhost")

VENTANILLA_PUBLIC_URL = os.environ.get("VENTANILLA_PUBLIC_URL", "http://127.0.0.1:8000")
VENTANILLA_PAGE_SIZE = 20

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # WeasyPrint logs every layout step at INFO; fontTools subsetting likewise.
    "loggers": {n: {"level": "WARNING"} for n in ("django.db.backends", "weasyprint", "fontTools")},
}

# Periodic commands (manage.py run_periodic, started by `make run` and `make serve-prod`): name, seconds.
PERIODIC_COMMANDS = [
    ("outbox_sweep", 60),  # e-mail/SMS retries that are due, and messages of a worker that died
    ("cases_housekeeping", 300),  # abandoned observations, draft reminders/expiry, webhook retries
    ("inbox_deem", 3600),  # legal notifications deemed delivered after N business days
    ("interop_seal", 3600),  # sign the head of the interoperability message log
]

# --- Expedientes (cases) ----------------------------------------------------------------------------------
# Drafts nobody submits expire after this many days; a reminder goes out this many days before.
CASES_DRAFT_TTL_DAYS = int(os.environ.get("CASES_DRAFT_TTL_DAYS", "30"))
CASES_DRAFT_REMINDER_DAYS = int(os.environ.get("CASES_DRAFT_REMINDER_DAYS", "5"))
CASES_UPLOAD_MAX_BYTES = int(os.environ.get("CASES_UPLOAD_MAX_BYTES", str(10 * 1024 * 1024)))
CASES_WEBHOOK_TIMEOUT = float(os.environ.get("CASES_WEBHOOK_TIMEOUT", "5"))
# Webhooks to loopback/private addresses (and plain HTTP to localhost): development and tests only.
CASES_WEBHOOK_ALLOW_PRIVATE = env_bool("CASES_WEBHOOK_ALLOW_PRIVATE", False)

# --- Documentos verificables (documents) ------------------------------------------------------------------
# Absolute address printed on every PDF (verification link and QR code).
DOCUMENTS_PUBLIC_BASE_URL = (os.environ.get("PUBLIC_BASE_URL") or VENTANILLA_PUBLIC_URL).rstrip("/")
# Development CA: a root «Ventanilla CA de desarrollo» and one signing certificate per institution, created
# on first use. On by default everywhere except config.settings.prod, where institutions' keys must be
# imported (manage.py documents_key_import) and DOCUMENTS_TRUST_ROOTS names the real roots (PEM files).
DOCUMENTS_DEV_CA = env_bool(
    "DOCUMENTS_DEV_CA", not os.environ.get("DJANGO_SETTINGS_MODULE", "").endswith(".prod")
)
DOCUMENTS_TRUST_ROOTS = env_list("DOCUMENTS_TRUST_ROOTS")
DOCUMENTS_UPLOAD_MAX_BYTES = int(os.environ.get("DOCUMENTS_UPLOAD_MAX_BYTES", str(10 * 1024 * 1024)))
# Approval results are POSTed to the institution's callback URL (HMAC-signed), with retries.
DOCUMENTS_CALLBACK_TIMEOUT = float(os.environ.get("DOCUMENTS_CALLBACK_TIMEOUT", "10"))
DOCUMENTS_CALLBACK_MAX_ATTEMPTS = int(os.environ.get("DOCUMENTS_CALLBACK_MAX_ATTEMPTS", "6"))
# Callbacks to loopback/private addresses (and plain HTTP to localhost): development and tests only (SSRF).
DOCUMENTS_CALLBACK_ALLOW_PRIVATE = env_bool("DOCUMENTS_CALLBACK_ALLOW_PRIVATE", False)

# --- Notificaciones electrónicas (inbox) ------------------------------------------------------------------
# When a legal notification takes effect: "" follows the country pack (BO: on delivery; PY: when opened or
# after N business days unopened). Override with INBOX_EFFECT_RULE=on_delivery|on_open_or_days and
# INBOX_DEEMED_BUSINESS_DAYS=N.
INBOX_EFFECT_RULE = os.environ.get("INBOX_EFFECT_RULE", "")
INBOX_DEEMED_BUSINESS_DAYS = int(os.environ.get("INBOX_DEEMED_BUSINESS_DAYS", "-1"))  # -1: the pack's value
INBOX_PAGE_SIZE = int(os.environ.get("INBOX_PAGE_SIZE", "20"))
# Outbox: attempts before a message is marked failed, first retry delay (doubles each time, capped), and how
# long a worker holds a message it is sending before the sweeper may take it back.
OUTBOX_MAX_ATTEMPTS = int(os.environ.get("OUTBOX_MAX_ATTEMPTS", "6"))
OUTBOX_RETRY_BASE_SECONDS = int(os.environ.get("OUTBOX_RETRY_BASE_SECONDS", "60"))
OUTBOX_RETRY_MAX_SECONDS = int(os.environ.get("OUTBOX_RETRY_MAX_SECONDS", str(6 * 3600)))
OUTBOX_LEASE_SECONDS = int(os.environ.get("OUTBOX_LEASE_SECONDS", "300"))
# Seconds an SMTP call may take; the lease must be more than twice this and SMS_HTTP_TIMEOUT
# (system check inbox.E001).
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "30"))

# --- Interoperabilidad (interop) --------------------------------------------------------------------------
# Seconds the mediator waits for a provider when the service sets no timeout of its own.
INTEROP_DEFAULT_TIMEOUT = float(os.environ.get("INTEROP_DEFAULT_TIMEOUT", "10"))
# Calls per minute a consumer subsystem may make when it has no limit of its own (scope "interop" of
# VENTANILLA_RATE_LIMITS, when present, takes precedence).
INTEROP_RATE_LIMIT = int(os.environ.get("INTEROP_RATE_LIMIT", "600"))
# Largest message body kept in the log for services that log bodies; larger bodies keep only their hash.
INTEROP_LOG_BODY_MAX_BYTES = int(os.environ.get("INTEROP_LOG_BODY_MAX_BYTES", str(64 * 1024)))
# Largest answer registry_query() reads into memory (the HTTP mediator streams and has no limit).
INTEROP_REGISTRY_MAX_BYTES = int(os.environ.get("INTEROP_REGISTRY_MAX_BYTES", str(5 * 1024 * 1024)))
# PEM RSA key that signs the message-log chain head; empty: the OIDC provider's key.
INTEROP_SEAL_PRIVATE_KEY = os.environ.get("INTEROP_SEAL_PRIVATE_KEY", "")
# Days of log the monitoring pages read.
INTEROP_MONITOR_DAYS = int(os.environ.get("INTEROP_MONITOR_DAYS", "7"))
# Provider base URLs must be HTTPS on public addresses (no SSRF into the platform's network). Development and
# tests allow private/loopback addresses and plain HTTP to localhost (the demo registries live there).
INTEROP_ALLOW_PRIVATE_PROVIDERS = env_bool("INTEROP_ALLOW_PRIVATE_PROVIDERS", False)
# Networks (CIDR, comma-separated) where real providers sit, e.g. the government network, allowed even when
# private addresses are refused; loopback and link-local (169.254/16, fe80::/10) stay refused.
INTEROP_PROVIDER_ALLOWED_NETWORKS = [
    n.strip() for n in os.environ.get("INTEROP_PROVIDER_ALLOWED_NETWORKS", "").split(",") if n.strip()
]
# PEM public keys of retired sealing keys whose seals still verify (separate the PEM blocks with blank lines
# or just concatenate them); a seal signed by any other key is a verification failure.
INTEROP_SEAL_TRUSTED_PUBLIC_KEYS = [
    "-----BEGIN PUBLIC KEY-----" + block
    for block in os.environ.get("INTEROP_SEAL_TRUSTED_PUBLIC_KEYS", "").split("-----BEGIN PUBLIC KEY-----")
    if block.strip()
]
# Longest an exchange may take, in seconds, however slowly a provider drips its answer.
INTEROP_EXCHANGE_DEADLINE = float(os.environ.get("INTEROP_EXCHANGE_DEADLINE", "300"))
