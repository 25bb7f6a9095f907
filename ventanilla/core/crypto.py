"""Small cryptographic helpers shared by apps (key generation for signing keys)."""

from __future__ import annotations


def generate_rsa_pem(bits: int = 2048) -> str:
    """A new RSA private key as unencrypted PKCS#8 PEM."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
