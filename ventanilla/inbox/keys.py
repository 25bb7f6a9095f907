"""Notify-style API keys: ``{key_name}-{service_id}-{secret}``; the secret is kept encrypted at rest."""

from __future__ import annotations

import base64
import hashlib
import uuid

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

SERVICE_NAMESPACE = uuid.UUID("5b0c1c3e-8d0f-4f4e-9a57-0f6d2f1f7a10")


def service_id_for(institution_code: str) -> uuid.UUID:
    """The stable Notify «service id» of an institution (every key of the institution carries it)."""
    return uuid.uuid5(SERVICE_NAMESPACE, f"ventanilla-institution:{institution_code}")


def _fernet() -> Fernet:
    digest = hashlib.sha256(f"inbox-api-keys:{settings.SECRET_KEY}".encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def secret_encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def secret_decrypt(token: str) -> str | None:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        return None


def full_key(key_name: str, service_id: uuid.UUID | str, secret: str) -> str:
    return f"{key_name}-{service_id}-{secret}"
