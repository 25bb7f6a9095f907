"""OpenID Connect provider hooks (stub; being written)."""


def pkce_required(client_id: str) -> bool:
    return True
