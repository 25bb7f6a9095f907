"""The OIDC signing key: from the environment in production, generated once into var/ for development."""

from __future__ import annotations

import os
from pathlib import Path

from ventanilla.core.crypto import generate_rsa_pem

__all__ = ["dev_signing_key", "generate_rsa_pem", "inactive_keys_from_env"]


def dev_signing_key(var_dir: Path) -> str:
    """Read (or create, mode 0600) var/oidc-dev-key.pem. Never used by production settings."""
    path = var_dir / "oidc-dev-key.pem"
    if not path.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(generate_rsa_pem())
        os.chmod(path, 0o600)
    return path.read_text()


def inactive_keys_from_env() -> list[str]:
    """Previous signing keys still published in the JWKS during rotation (OIDC_RSA_PRIVATE_KEYS_INACTIVE,
    PEM blocks separated by a line with ---)."""
    raw = os.environ.get("OIDC_RSA_PRIVATE_KEYS_INACTIVE", "").strip()
    return [block.strip() + "\n" for block in raw.split("\n---\n") if block.strip()] if raw else []
